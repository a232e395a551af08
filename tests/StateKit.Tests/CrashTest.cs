using System.Buffers.Binary;
using NUnit.Framework;
using StateKit.CrashWriter;
using StateKit.Tests.File;

namespace StateKit.Tests;

/// <summary>
/// The kill-the-writer crash test shared by the file and SQLite stores: a child process writes self-describing
/// values with conditional writes and appends to a list; it is killed at a random moment after its first full
/// round, the store is reopened, and every entry must be a complete value of its version and the list 1..n.
/// </summary>
internal static class CrashTest
{
    public const int Keys = 8;

    /// <summary>Runs <paramref name="kills"/> write-and-kill rounds against <paramref name="target"/>.</summary>
    /// <param name="target">The crash writer's target (a file-store root or <c>sqlite:path</c>).</param>
    /// <param name="kills">How many times to kill the writer.</param>
    /// <param name="reopen">Opens the store after each kill; it is disposed here.</param>
    /// <returns>A task.</returns>
    public static async Task KillWriterRepeatedlyAsync(string target, int kills, Func<Task<IStateStore>> reopen)
    {
        var random = new Random(20261121);
        long lastLog = 0;
        var progressed = 0;
        for (var kill = 0; kill < kills; kill++)
        {
            using (var child = ChildProcess.Start("write", target, Keys.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            {
                try
                {
                    // "running" comes after the first complete round, so every run has written something.
                    var ready = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                    var running = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                    await Task.Delay(random.Next(0, 60));
                    if (ready != "ready" || running != "running" || child.HasExited)
                    {
                        child.Kill();
                        Assert.Fail($"the writer must be writing when it is killed; it said '{ready}', '{running}': {await child.StandardError.ReadToEndAsync()}");
                    }
                }
                finally
                {
                    child.Kill();
                    await child.WaitForExitAsync();
                }
            }

            await using var store = await reopen();
            for (var k = 0; k < Keys; k++)
            {
                var entry = await store.GetAsync(Payloads.Key(k));
                if (entry is null)
                {
                    continue;
                }

                var problem = Payloads.Check(entry.Value.Span, k, out var round);
                Assert.That(problem, Is.Null, $"kill {kill}: key {k} is torn");
                Assert.That(round, Is.EqualTo(entry.Version), $"kill {kill}: key {k} content belongs to another version");
            }

            var log = await store.ListRangeAsync("log");
            for (var i = 0; i < log.Count; i++)
            {
                Assert.That(BinaryPrimitives.ReadInt64LittleEndian(log[i].Span), Is.EqualTo(i + 1), $"kill {kill}: list item {i}");
            }

            if (log.Count > lastLog)
            {
                progressed++;
            }

            lastLog = log.Count;
        }

        TestContext.Out.WriteLine($"{kills} kills; the list reached {lastLog} items.");
        Assert.That(progressed, Is.EqualTo(kills), "every run completes at least one round before it is killed");
    }
}
