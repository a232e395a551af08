using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Testing;
using StateKit.Tests.Provider;

namespace StateKit.Tests.Hybrid;

/// <summary>The L1 tier: reads answered in process, invalidation by the change feed, bounds, lifetime, exact conditional writes.</summary>
public sealed class L1StateStoreTests
{
    private readonly ManualTimeProvider _time = new(DateTimeOffset.UtcNow);

    /// <summary>
    /// Issue 29: back-to-back updates of one key (a session updated by request after request). The store's notice of
    /// update n arriving while this instance's update n + 1 is in flight is older than that write: it used to drop the
    /// key and keep update n + 1 out of the tier, so the next read went to the store.
    /// </summary>
    [Test]
    public async Task TheNoticeOfAnEarlierOwnUpdate_ArrivingDuringTheNextUpdate_KeepsTheNextOneHeld()
    {
        var feed = new GatedFeedStore(new MemoryStateStore());
        await using var l1 = new L1StateStore(feed);
        var ttl = TimeSpan.FromMinutes(5);
        var v1 = await l1.SetAsync("s", new byte[] { 1 }, new StateWriteOptions(0, ttl));

        feed.HoldWrites();
        var second = l1.SetAsync("s", new byte[] { 2 }, new StateWriteOptions(v1, ttl)).AsTask();
        await feed.WriteStarted;
        await feed.EmitAsync(new StateStoreChange("s", StateStoreChangeKind.Set, v1)); // update 1's notice, late
        feed.ReleaseWrites();
        var v2 = await second;
        await feed.EmitAsync(new StateStoreChange("s", StateStoreChangeKind.Set, v2));

        var reads = feed.Reads;
        var entry = await l1.GetAsync("s");
        Assert.That(entry!.Version, Is.EqualTo(v2));
        Assert.That(feed.Reads - reads, Is.Zero, "update 2 is held: no read of the store");

        // A notice newer than the write in flight (another instance's) still drops the key.
        feed.HoldWrites();
        var third = l1.SetAsync("s", new byte[] { 3 }, new StateWriteOptions(v2, ttl)).AsTask();
        await feed.WriteStarted;
        await feed.EmitAsync(new StateStoreChange("s", StateStoreChangeKind.Set, v2 + 2));
        feed.ReleaseWrites();
        await third;
        reads = feed.Reads;
        await l1.GetAsync("s");
        Assert.That(feed.Reads - reads, Is.EqualTo(1), "a newer change seen while writing keeps the written entry out");
    }

    [Test]
    public async Task RepeatedReads_AreAnsweredInProcess_AndAWriteIsReadBackAtOnce()
    {
        var memory = new MemoryStateStore(null, _time);
        var counting = new ReadCountingStore(memory);
        await using var l1 = new L1StateStore(counting, null, _time);
        var v1 = await l1.SetAsync("k", new byte[] { 1 });
        for (var i = 0; i < 10; i++)
        {
            Assert.That((await l1.GetAsync("k"))!.Version, Is.EqualTo(v1));
        }

        Assert.That(counting.Reads, Is.EqualTo(1), "one store read, nine answers from L1");
        var v2 = await l1.SetAsync("k", new byte[] { 2 });
        Assert.That((await l1.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 2 }), "its own write is never answered stale");
        Assert.That((await l1.GetAsync("k"))!.Version, Is.EqualTo(v2));
        // The write's own notice comes back through the feed a moment later and may drop the entry once more.
        Assert.That(counting.Reads, Is.InRange(2, 3));
    }

    [Test]
    public async Task AConditionalWriteWithATimeToLive_IsHeld_SoItsNextReadNeedsNoStoreRead()
    {
        var memory = new MemoryStateStore(null, _time);
        var counting = new ReadCountingStore(memory);
        await using var l1 = new L1StateStore(counting, null, _time);
        var v1 = await l1.SetAsync("k", new byte[] { 1 }, new StateWriteOptions(0, TimeSpan.FromMinutes(5)));
        var read = await l1.GetAsync("k");
        Assert.That(read!.Version, Is.EqualTo(v1));
        Assert.That(read.Value.ToArray(), Is.EqualTo(new byte[] { 1 }));
        Assert.That(read.ExpiresAt, Is.Not.Null.And.LessThanOrEqualTo((await memory.GetAsync("k"))!.ExpiresAt!.Value), "never held past the store's expiry");
        await Task.Delay(50); // the write's own notice arrives: it is recognised and keeps the entry
        Assert.That((await l1.GetAsync("k"))!.Version, Is.EqualTo(v1));
        Assert.That(counting.Reads, Is.Zero, "the write was held");

        var v2 = await l1.SetAsync("k", new byte[] { 2 }, new StateWriteOptions(v1, Timeout.InfiniteTimeSpan));
        Assert.That((await l1.GetAsync("k"))!.ExpiresAt, Is.Null);
        Assert.That((await l1.GetAsync("k"))!.Version, Is.EqualTo(v2));
        Assert.That(counting.Reads, Is.Zero);

        // Unconditional writes, or writes that keep the current expiry, are not held.
        await l1.SetAsync("k", new byte[] { 3 });
        await l1.GetAsync("k");
        await l1.SetAsync("k", new byte[] { 4 }, new StateWriteOptions(v2 + 1, StateTimeToLive.KeepCurrent));
        Assert.That((await l1.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 4 }));
        Assert.That(counting.Reads, Is.EqualTo(2));

        // A write that conflicts holds nothing and leaves nothing older behind.
        await Assert.ThrowsAsync<StateConflictException>(async () => await l1.SetAsync("k", new byte[] { 5 }, new StateWriteOptions(1, TimeSpan.FromMinutes(5))));
        Assert.That((await l1.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 4 }));
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.That((await l1.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 4 }), "no expiry on the last write");
    }

    [Test]
    public async Task AHeldWrite_ExpiresWithItsTimeToLive()
    {
        var memory = new MemoryStateStore(null, _time);
        await using var l1 = new L1StateStore(memory, null, _time);
        await l1.SetAsync("k", new byte[] { 1 }, new StateWriteOptions(0, TimeSpan.FromSeconds(30)));
        Assert.That(await l1.GetAsync("k"), Is.Not.Null);
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.That(await l1.GetAsync("k"), Is.Null);
    }

    [Test]
    public async Task OnTheSystemClock_HitsNeedNoClockRead_ButLifetimeAndNoticesStillHold()
    {
        var memory = new MemoryStateStore();
        var counting = new ReadCountingStore(new NonDisposingStore(memory));
        await using var l1 = new L1StateStore(counting, new L1StateStoreOptions { Lifetime = TimeSpan.FromMilliseconds(200) });
        await memory.SetAsync("k", new byte[] { 1 });
        await l1.GetAsync("k");
        await l1.GetAsync("k");
        Assert.That(counting.Reads, Is.EqualTo(1));

        var v2 = await memory.SetAsync("k", new byte[] { 2 }); // another writer: the notice drops the entry
        await Task.Delay(100);
        Assert.That((await l1.GetAsync("k"))!.Version, Is.EqualTo(v2));
        Assert.That(counting.Reads, Is.EqualTo(2));

        await Task.Delay(400); // past the lifetime: read again
        await l1.GetAsync("k");
        Assert.That(counting.Reads, Is.EqualTo(3));
    }

    [Test]
    public async Task AConditionalWriteAtAStaleVersion_StillFailsAtTheStore()
    {
        var memory = new MemoryStateStore(null, _time);
        await using var a = new L1StateStore(new NonDisposingStore(memory), null, _time);
        await using var b = new L1StateStore(new NonDisposingStore(memory), null, _time);
        var v1 = await a.SetAsync("k", new byte[] { 1 });
        Assert.That((await b.GetAsync("k"))!.Version, Is.EqualTo(v1));
        await a.SetAsync("k", new byte[] { 2 }, new StateWriteOptions(v1));
        var conflict = await Assert.ThrowsAsync<StateConflictException>(async () => await b.SetAsync("k", new byte[] { 3 }, new StateWriteOptions(v1)));
        Assert.That(conflict!.CurrentVersion, Is.EqualTo(v1 + 1));
        await memory.DisposeAsync();
    }

    [Test]
    public async Task TwoInstancesOnOneStore_NeverReadStaleOnceTheNoticeArrived_ThousandsOfInterleavedOperations()
    {
        var memory = new MemoryStateStore(null, _time);
        var b = new NoticeCountingStore(new NonDisposingStore(memory));
        await using var writer = new L1StateStore(new NonDisposingStore(memory), null, _time);
        await using var reader = new L1StateStore(b, null, _time);
        var latest = new Dictionary<string, long>();
        var random = new Random(7);
        var stale = 0;
        var writes = 0L;
        await reader.GetAsync("warm-up"); // subscribes the reader's tier before the first write
        for (var i = 0; i < 3000; i++)
        {
            var key = "k" + random.Next(20);
            if (random.Next(3) == 0)
            {
                latest[key] = await writer.SetAsync(key, BitConverter.GetBytes(i));
                writes++;
                continue;
            }

            // Before the notice an older value may be answered (counted, not failed); after it, never.
            var before = await reader.GetAsync(key);
            if (before is not null && latest.TryGetValue(key, out var newest) && before.Version < newest)
            {
                stale++;
            }

            await b.WaitForNoticesAsync(writes);
            var after = await reader.GetAsync(key);
            Assert.That(after?.Version ?? 0, Is.EqualTo(latest.GetValueOrDefault(key)), $"operation {i}: a read after the notice is current");
        }

        TestContext.Out.WriteLine($"{stale} reads answered an older version before its notice arrived");
        await memory.DisposeAsync();
    }

    [Test]
    public async Task AResyncNotice_DropsEverythingHeld()
    {
        var memory = new MemoryStateStore(null, _time);
        var feed = new ManualFeedStore(memory);
        await using var l1 = new L1StateStore(feed, null, _time);
        for (var i = 0; i < 50; i++)
        {
            await memory.SetAsync("k" + i, new byte[] { 1 });
            await l1.GetAsync("k" + i);
        }

        Assert.That(l1.Count, Is.EqualTo(50));
        await memory.SetAsync("k0", new byte[] { 9 }); // a change the feed never reported
        await feed.EmitAsync(new StateStoreChange(string.Empty, StateStoreChangeKind.Resync, 0));
        Assert.That(l1.Count, Is.Zero);
        Assert.That((await l1.GetAsync("k0"))!.Value.ToArray(), Is.EqualTo(new byte[] { 9 }));
    }

    [Test]
    public async Task WithoutAFeed_AChangeElsewhereIsSeenWithinTheLifetime()
    {
        var memory = new MemoryStateStore(null, _time);
        await using var l1 = new L1StateStore(new OpaqueStore(memory), new L1StateStoreOptions { Lifetime = TimeSpan.FromSeconds(5) }, _time);
        await memory.SetAsync("k", new byte[] { 1 });
        await l1.GetAsync("k");
        await memory.SetAsync("k", new byte[] { 2 });
        Assert.That((await l1.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 1 }), "within the lifetime the held value may be answered");
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.That((await l1.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 2 }), "never past it");
    }

    [Test]
    public async Task HeldEntries_NeverOutliveTheirExpiry()
    {
        var memory = new MemoryStateStore(null, _time);
        await using var l1 = new L1StateStore(new OpaqueStore(memory), new L1StateStoreOptions { Lifetime = TimeSpan.FromHours(1) }, _time);
        await memory.SetAsync("k", new byte[] { 1 }, new StateWriteOptions(null, TimeSpan.FromSeconds(10)));
        Assert.That(await l1.GetAsync("k"), Is.Not.Null);
        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.That(await l1.GetAsync("k"), Is.Null);
        Assert.That(await l1.ExistsAsync("k"), Is.False);
    }

    [Test]
    public async Task Bounds_HoldAtMostMaxEntriesAndMaxBytes()
    {
        var memory = new MemoryStateStore(null, _time);
        await using var byCount = new L1StateStore(new NonDisposingStore(memory), new L1StateStoreOptions { MaxEntries = 100 }, _time);
        await using var byBytes = new L1StateStore(new NonDisposingStore(memory), new L1StateStoreOptions { MaxBytes = 64 * 1024 }, _time);
        for (var i = 0; i < 500; i++)
        {
            await memory.SetAsync("k" + i, new byte[1000]);
        }

        for (var i = 0; i < 500; i++)
        {
            Assert.That((await byCount.GetAsync("k" + i))!.Value.Length, Is.EqualTo(1000));
            Assert.That((await byBytes.GetAsync("k" + i))!.Value.Length, Is.EqualTo(1000));
            Assert.That(byCount.Count, Is.LessThanOrEqualTo(100));
            Assert.That(byBytes.Bytes, Is.LessThanOrEqualTo(64 * 1024));
        }

        Assert.That(byCount.Count, Is.GreaterThan(0));
        await memory.DisposeAsync();
    }

    [Test]
    public async Task UseL1_PutsTheTierInTheRegisteredPipeline_AndBindsItsOptions()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddStateKit(o => o.Telemetry = false).UseL1(o => o.MaxEntries = 7);
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>();
        var l1 = store.GetService<L1StateStore>();
        Assert.That(l1, Is.Not.Null);
        Assert.That(store.GetService<IStateChangeFeed>(), Is.Not.Null, "the memory store's feed is found through the tier");

        var invalid = new ServiceCollection();
        invalid.AddStateKit().UseL1(o => o.Lifetime = TimeSpan.Zero);
        await using var bad = invalid.BuildServiceProvider();
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => bad.GetRequiredService<Microsoft.Extensions.Options.IOptions<L1StateStoreOptions>>().Value.ToString());
    }

    [Test]
    public async Task MemoryStoreFeed_ReportsEveryChangeWithItsVersion()
    {
        await using var memory = new MemoryStateStore(null, _time);
        var seen = new List<StateStoreChange>();
        var done = new TaskCompletionSource();
        await using var subscription = await memory.SubscribeAsync("a/", (change, _) =>
        {
            lock (seen)
            {
                seen.Add(change);
                if (seen.Count == 6)
                {
                    done.TrySetResult();
                }
            }

            return ValueTask.CompletedTask;
        });
        var v1 = await memory.SetAsync("a/x", new byte[] { 1 });
        await memory.SetAsync("b/ignored", new byte[] { 1 });
        var versions = await memory.SetManyAsync([new StateWrite("a/y", new byte[] { 1 })]);
        await memory.TouchAsync("a/x", TimeSpan.FromMinutes(1));
        await memory.DeleteAsync("a/y");
        await memory.ListAppendAsync("a/list", [new byte[] { 1 }, new byte[] { 2 }]);
        await memory.ListDeleteAsync("a/list");
        await done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(seen, Is.EqualTo(new[]
        {
            new StateStoreChange("a/x", StateStoreChangeKind.Set, v1),
            new StateStoreChange("a/y", StateStoreChangeKind.Set, versions[0]),
            new StateStoreChange("a/x", StateStoreChangeKind.Touch, v1),
            new StateStoreChange("a/y", StateStoreChangeKind.Delete, versions[0]),
            new StateStoreChange("a/list", StateStoreChangeKind.ListAppend, 2),
            new StateStoreChange("a/list", StateStoreChangeKind.ListChange, 0),
        }));
    }

    /// <summary>Passes the feed's notices to the tier and counts them, so a test knows when they have all arrived.</summary>
    private sealed class NoticeCountingStore(IStateStore inner) : DelegatingStateStore(inner), IStateChangeFeed
    {
        private long _delivered;

        public async ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default) =>
            await InnerStore.GetService<IStateChangeFeed>()!.SubscribeAsync(prefix, async (change, token) =>
            {
                await onChange(change, token);
                Interlocked.Increment(ref _delivered);
            }, cancellationToken);

        public override object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(IStateChangeFeed) ? this : base.GetService(serviceType, serviceKey);

        /// <summary>Waits until the tier has been handed <paramref name="count"/> notices (one per write the test made).</summary>
        public async Task WaitForNoticesAsync(long count)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Interlocked.Read(ref _delivered) < count)
            {
                Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "notices did not arrive");
                await Task.Delay(1);
            }
        }
    }

    /// <summary>A store whose change feed the test drives.</summary>
    private sealed class ManualFeedStore(IStateStore inner) : DelegatingStateStore(inner), IStateChangeFeed
    {
        private Func<StateStoreChange, CancellationToken, ValueTask>? _subscriber;

        public ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default)
        {
            _subscriber = onChange;
            return ValueTask.FromResult<IAsyncDisposable>(new Nothing());
        }

        public ValueTask EmitAsync(StateStoreChange change) => _subscriber!(change, CancellationToken.None);

        private sealed class Nothing : IAsyncDisposable
        {
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>A store whose change feed the test drives, whose writes can be held at their start, and which counts reads.</summary>
    private sealed class GatedFeedStore(IStateStore inner) : DelegatingStateStore(inner), IStateChangeFeed
    {
        private Func<StateStoreChange, CancellationToken, ValueTask>? _subscriber;
        private TaskCompletionSource _gate = Completed();
        private TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public Task WriteStarted => _started.Task;

        public void HoldWrites()
        {
            _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public void ReleaseWrites() => _gate.TrySetResult();

        public ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default)
        {
            _subscriber = onChange;
            return ValueTask.FromResult<IAsyncDisposable>(new Nothing());
        }

        public ValueTask EmitAsync(StateStoreChange change) => _subscriber!(change, CancellationToken.None);

        public override ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return base.GetAsync(key, cancellationToken);
        }

        public override async ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
        {
            _started.TrySetResult();
            await _gate.Task;
            return await base.SetAsync(key, value, options, cancellationToken);
        }

        private static TaskCompletionSource Completed()
        {
            var done = new TaskCompletionSource();
            done.SetResult();
            return done;
        }

        private sealed class Nothing : IAsyncDisposable
        {
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
