using NUnit.Framework;
using StateKit.Tests.Provider;

namespace StateKit.Tests.Issues;

/// <summary>
/// L1 keeps reads monotonic (issue 23, item 12): once a read returned a version, a later read on the same instance never
/// returns an older one, even when an older entry was held by a concurrent read while the newer read was in flight.
/// </summary>
public sealed class L1MonotonicReadTests
{
    [Test]
    public async Task ANewerReadThatIsNotHeld_RemovesTheOlderEntryAConcurrentReadHeld()
    {
        var memory = new MemoryStateStore();
        await memory.SetAsync("k", new byte[] { 1 });
        var gated = new GatedStore(memory);
        await using var l1 = new L1StateStore(gated, new L1StateStoreOptions { Lifetime = TimeSpan.FromHours(1) });

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gated.NextGet = gate.Task;
        var newer = l1.GetAsync("k").AsTask(); // starts first, reads the store last
        await l1.TouchAsync("k", Timeout.InfiniteTimeSpan); // a change of the key while that read is in flight
        Assert.That((await l1.GetAsync("k"))!.Version, Is.EqualTo(1), "a concurrent read holds version 1");
        await memory.SetAsync("k", new byte[] { 2 }); // another instance writes (this tier has no feed to hear of it)
        gate.SetResult();
        Assert.That((await newer)!.Version, Is.EqualTo(2), "the read in flight returns version 2");

        var next = await l1.GetAsync("k");
        Assert.That((next!.Version, next.Value.ToArray()), Is.EqualTo((2L, new byte[] { 2 })), "never back to version 1 after version 2 was returned");
    }

    /// <summary>Hides the store's change feed, and holds the next read back until a task completes.</summary>
    private sealed class GatedStore(IStateStore inner) : DelegatingStore(inner)
    {
        public Task? NextGet { get; set; }

        public override async ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
        {
            if (NextGet is { } gate)
            {
                NextGet = null;
                await gate;
            }

            return await base.GetAsync(key, cancellationToken);
        }

        public override object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(IStateChangeFeed) ? null : base.GetService(serviceType, serviceKey);

        protected override ValueTask DisposeAsyncCore() => ValueTask.CompletedTask;
    }
}
