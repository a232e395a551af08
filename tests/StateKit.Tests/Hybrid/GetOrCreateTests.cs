using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace StateKit.Tests.Hybrid;

/// <summary><see cref="IStateProvider.GetOrCreateAsync"/> on every store: one factory run per key under concurrency.</summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class GetOrCreateTests(string kind) : StoreFixture(kind)
{
    [Test]
    public async Task HundredConcurrentCallers_RunTheFactoryOnce_AndAllSeeItsValue()
    {
        var state = Container().GetRequiredService<IStateProvider>();
        var calls = 0;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async ValueTask<string> Factory(CancellationToken token)
        {
            Interlocked.Increment(ref calls);
            await gate.Task; // every caller is waiting before the factory finishes
            return "expensive";
        }

        var callers = Enumerable.Range(0, 100).Select(_ => Task.Run(async () => await state.GetOrCreateAsync(StateScope.Global, "summary", Factory))).ToArray();
        await Task.Delay(100);
        gate.SetResult();
        var values = await Task.WhenAll(callers);
        Assert.That(calls, Is.EqualTo(1));
        Assert.That(values.Select(v => (v.Value, v.Version)).Distinct(), Is.EqualTo(new[] { ("expensive", values[0].Version) }));
        Assert.That((await state.GetAsync<string>(StateScope.Global, "summary"))!.Value, Is.EqualTo("expensive"));
    }

    [Test]
    public async Task AnExistingValue_IsReturned_AndAnotherInstancesValueWins()
    {
        var first = Container().GetRequiredService<IStateProvider>();
        var second = Container().GetRequiredService<IStateProvider>();
        await first.SetAsync(StateScope.Global, "k", "there");
        var read = await second.GetOrCreateAsync<string>(StateScope.Global, "k", _ => throw new AssertionException("the factory must not run for an existing value"));
        Assert.That(read.Value, Is.EqualTo("there"));

        // The second instance's factory runs while the first creates the value: the stored one is returned.
        var created = await second.GetOrCreateAsync(StateScope.Global, "race", async token =>
        {
            await first.SetAsync(StateScope.Global, "race", "first", new StateSetOptions<string> { ExpectedVersion = 0 }, token);
            return "second";
        });
        Assert.That(created.Value, Is.EqualTo("first"));
    }

    [Test]
    public async Task AFailingFactory_FailsEveryWaitingCaller_StoresNothing_AndTheNextCallRunsAgain()
    {
        var reads = new Provider.ReadCountingStore(Store);
        var state = Container(store: reads).GetRequiredService<IStateProvider>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        async ValueTask<int> Failing(CancellationToken token)
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            throw new InvalidOperationException("model unavailable");
        }

        var callers = Enumerable.Range(0, 10).Select(_ => Task.Run(async () => await state.GetOrCreateAsync(StateScope.Global, "k", Failing))).ToArray();

        // Every caller has read (found nothing) and joined the run: 10 first reads and the runner's second one.
        while (reads.Reads < 11)
        {
            await Task.Delay(5);
        }

        await Task.Delay(50);
        gate.SetResult();
        foreach (var caller in callers)
        {
            Assert.That(async () => await caller, Throws.InstanceOf<InvalidOperationException>().With.Message.EqualTo("model unavailable"));
        }

        Assert.That(calls, Is.EqualTo(1));
        Assert.That(await state.GetAsync<int>(StateScope.Global, "k"), Is.Null);
        var value = await state.GetOrCreateAsync(StateScope.Global, "k", _ => ValueTask.FromResult(42));
        Assert.That(value.Value, Is.EqualTo(42));
    }

    [Test]
    public async Task TimeToLive_AppliesToTheCreatedValue()
    {
        var state = Container().GetRequiredService<IStateProvider>();
        var value = await state.GetOrCreateAsync(StateScope.Global, "k", _ => ValueTask.FromResult("v"), TimeSpan.FromMinutes(1));
        Assert.That(value.ExpiresAt, Is.EqualTo(Time.GetUtcNow().AddMinutes(1)).Within(TimeSpan.FromSeconds(1)));
        Time.Advance(TimeSpan.FromMinutes(2));
        Assert.That(await state.GetAsync<string>(StateScope.Global, "k"), Is.Null);
    }
}
