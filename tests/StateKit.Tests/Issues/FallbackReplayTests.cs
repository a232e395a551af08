using NUnit.Framework;
using StateKit.Tests.Provider;
using StateKit.Tests.Resilience;

namespace StateKit.Tests.Issues;

/// <summary>
/// Switching back after an outage replays many keys at once, and with operations going on until little is left
/// (issue 23, item 14): operations are held only for the last, short pass.
/// </summary>
public sealed class FallbackReplayTests
{
    [Test]
    public async Task ManyKeysWrittenDuringAnOutage_AreReplayedConcurrently_AndAllReachThePrimary()
    {
        var primaryMemory = new MemoryStateStore();
        var slow = new ConcurrencyCountingStore(primaryMemory);
        var primary = new SwitchableStore(slow);
        var fallback = new MemoryStateStore();
        await using var chain = new FallbackStateStore([primary, fallback], new FallbackStateStoreOptions { ProbeInterval = TimeSpan.FromMilliseconds(20), MaxProbeInterval = TimeSpan.FromMilliseconds(100) });

        primary.Down = true;
        for (var i = 0; i < 300; i++)
        {
            await chain.SetAsync("k" + i, new[] { (byte)(i % 256) });
        }

        Assert.That(chain.PendingReplay, Is.EqualTo(300));
        primary.Down = false;
        await FallbackStateStoreTests.WaitAsync(() => !chain.IsOnFallback, "the switch back", seconds: 60);

        Assert.That(chain.Replayed, Is.EqualTo(300));
        Assert.That(slow.MaxConcurrent, Is.GreaterThan(1), "keys are replayed many at a time");
        for (var i = 0; i < 300; i++)
        {
            Assert.That((await primaryMemory.GetAsync("k" + i))!.Value.ToArray(), Is.EqualTo(new[] { (byte)(i % 256) }));
        }

        TestContext.Out.WriteLine($"operations held {chain.LastSwitchBackHold.TotalMilliseconds:F1} ms; at most {slow.MaxConcurrent} writes at once");
    }

    /// <summary>Makes each write take a moment and counts how many run at once.</summary>
    private sealed class ConcurrencyCountingStore(IStateStore inner) : DelegatingStore(inner)
    {
        private int _running;
        private int _max;

        public int MaxConcurrent => Volatile.Read(ref _max);

        public override async ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
        {
            var now = Interlocked.Increment(ref _running);
            int seen;
            while ((seen = Volatile.Read(ref _max)) < now && Interlocked.CompareExchange(ref _max, now, seen) != seen)
            {
            }

            try
            {
                await Task.Delay(2, cancellationToken);
                return await base.SetAsync(key, value, options, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }
    }
}
