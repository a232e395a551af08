using NUnit.Framework;
using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Tests.Coordination;

/// <summary>
/// Issue 27: mergeable state written by several operating-system processes at once. Four crash-writer children share
/// one store (every kind a process can share: a file-store directory, a SQLite file, a PostgreSQL schema, a Redis key
/// prefix); each folds its own replica of a PN-counter, an observed-remove set and a last-writer-wins map into the
/// stored values 25 times with <c>MergeAsync</c>. The stored values must be the merge of every replica: no increment,
/// add, remove or map entry lost to a concurrent writer, none counted twice.
/// </summary>
[TestFixture("file")]
[TestFixture("sqlite")]
[TestFixture("postgres")]
[TestFixture("redis")]
public sealed class CrdtProcessTests(string kind)
{
    private const int Workers = 4;
    private const int Rounds = 25;

    [Test]
    public async Task FourProcesses_MergingAtOnce_ConvergeToTheMergeOfEveryReplica()
    {
        await using var target = new LeaseProcessTests.SharedTarget(kind);
        var children = new List<System.Diagnostics.Process>();
        try
        {
            for (var w = 0; w < Workers; w++)
            {
                children.Add(File.ChildProcess.Start("crdt", target.Argument, "p" + w, Rounds.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }

            foreach (var child in children)
            {
                Assert.That(await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo("ready"), await LeaseProcessTests.ErrorsAsync(child));
                Assert.That(await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)), Is.EqualTo("done"), await LeaseProcessTests.ErrorsAsync(child));
                await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
                Assert.That(child.ExitCode, Is.Zero, await LeaseProcessTests.ErrorsAsync(child));
            }

            var services = new ServiceCollection();
            services.AddStateKit().UseStore(_ => target.Open());
            await using var container = services.BuildServiceProvider();
            var provider = container.GetRequiredService<IStateProvider>();
            var scope = StateScope.Shared("board");

            var progress = (await provider.GetAsync<PNCounter>(scope, "progress"))!.Value;
            Assert.That(progress.Value, Is.EqualTo(Workers * Rounds), "every increment of every process counted once");
            var expectedSteps = Enumerable.Range(0, Workers)
                .SelectMany(w => Enumerable.Range(0, Rounds).Where(i => i % 3 != 0).Select(i => $"p{w}-{i}"));
            var steps = (await provider.GetAsync<ORSet<string>>(scope, "steps"))!.Value;
            Assert.That(steps.Elements, Is.EquivalentTo(expectedSteps), "every add kept, every observed remove applied");
            var last = (await provider.GetAsync<LwwMap<int>>(scope, "last"))!.Value;
            for (var w = 0; w < Workers; w++)
            {
                Assert.That(last.Items.GetValueOrDefault("p" + w, -1), Is.EqualTo(Rounds - 1), $"process p{w}'s last write wins its entry");
            }
        }
        finally
        {
            LeaseProcessTests.Stop(children);
        }
    }
}
