using System.Text;
using NUnit.Framework;
using StateKit.Postgres;
using StateKit.Tests.File;
using StateKit.Tests.Provider;

namespace StateKit.Tests.Resilience;

/// <summary>Write-behind: read-your-writes, coalescing, back-pressure, flush on dispose, replay after a crash (a killed process on PostgreSQL).</summary>
public sealed class WriteBehindStateStoreTests
{
    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("statekit-wb-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [Test]
    public async Task AcknowledgedWrites_AreReadBackAtOnce_AndReachTheStoreCoalesced()
    {
        var inner = new WriteCountingStore(new MemoryStateStore());
        await using var store = new WriteBehindStateStore(inner, new WriteBehindOptions { JournalDirectory = _root, FlushInterval = TimeSpan.FromMinutes(10), SegmentBytes = 64 * 1024 });
        long version = 0;
        for (var i = 0; i < 50; i++)
        {
            version = await store.SetAsync("session", Encoding.UTF8.GetBytes("turn " + i), new StateWriteOptions(version));
        }

        Assert.That(version, Is.EqualTo(50));
        Assert.That(Encoding.UTF8.GetString((await store.GetAsync("session"))!.Value.Span), Is.EqualTo("turn 49"), "read-your-writes before any flush");
        Assert.That(await inner.GetAsync("session"), Is.Null, "nothing flushed yet");
        Assert.That(store.PendingCount, Is.EqualTo(1));
        var conflict = await Assert.ThrowsAsync<StateConflictException>(async () => await store.SetAsync("session", new byte[] { 1 }, new StateWriteOptions(49)));
        Assert.That(conflict!.CurrentVersion, Is.EqualTo(50), "compare-and-set on the acknowledged version");

        await store.FlushAsync();
        var flushed = await inner.GetAsync("session");
        Assert.That((flushed!.Version, Encoding.UTF8.GetString(flushed.Value.Span)), Is.EqualTo((50L, "turn 49")), "the version callers saw");
        Assert.That(inner.Writes, Is.EqualTo(1), "fifty writes, one flush");
        Assert.That(store.PendingCount, Is.Zero);

        Assert.That(await store.DeleteAsync("session", 50), Is.True);
        Assert.That(await store.GetAsync("session"), Is.Null);
        await store.FlushAsync();
        Assert.That(await inner.GetAsync("session"), Is.Null);
    }

    [Test]
    public async Task WritersWait_WhenTheStoreFallsBehind_AndDisposeFlushesEverything()
    {
        var inner = new MemoryStateStore();
        var slow = new FlushBlockingStore(new NonDisposingStore(inner)) { Blocked = true };
        var store = new WriteBehindStateStore(slow, new WriteBehindOptions { JournalDirectory = _root, FlushInterval = TimeSpan.FromMilliseconds(10), MaxPendingBytes = 4096 });
        var writes = Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                await store.SetAsync("k/" + i, new byte[500]);
            }
        });
        await Task.Delay(500);
        Assert.That(writes.IsCompleted, Is.False, "past 4 KB pending, writers wait for the store");
        slow.Blocked = false;
        await writes.WaitAsync(TimeSpan.FromSeconds(30));
        await store.DisposeAsync();
        for (var i = 0; i < 40; i++)
        {
            Assert.That(await inner.ExistsAsync("k/" + i), Is.True, "flushed on dispose");
        }

        await inner.DisposeAsync();
    }

    [Test]
    public async Task AStoreDownAtDispose_KeepsTheJournal_AndTheNextStartFlushesIt()
    {
        var memory = new MemoryStateStore();
        var down = new FlushBlockingStore(new NonDisposingStore(memory)) { Blocked = true };
        var first = new WriteBehindStateStore(down, new WriteBehindOptions { JournalDirectory = _root, FlushInterval = TimeSpan.FromMinutes(10), SegmentBytes = 64 * 1024 });
        await first.SetAsync("a", new byte[] { 1 });
        await first.SetManyAsync([new StateWrite("b", new byte[] { 2 }), new StateWrite("c", new byte[] { 3 }, new StateWriteOptions(null, TimeSpan.FromHours(1)))]);
        await first.DeleteAsync("a");
        await first.SetAsync("a", new byte[] { 4 });
        await first.DisposeAsync(); // the flush fails: everything stays in the journal

        await using var second = new WriteBehindStateStore(new NonDisposingStore(memory), new WriteBehindOptions { JournalDirectory = _root, FlushInterval = TimeSpan.FromMinutes(10), SegmentBytes = 64 * 1024 });
        Assert.That((await second.GetAsync("a"))!.Value.ToArray(), Is.EqualTo(new byte[] { 4 }), "replayed from the journal");
        await second.FlushAsync();
        Assert.That(((await memory.GetAsync("a"))!.Version, (await memory.GetAsync("a"))!.Value.ToArray()), Is.EqualTo((1L, new byte[] { 4 })));
        Assert.That((await memory.GetAsync("b"))!.Value.ToArray(), Is.EqualTo(new byte[] { 2 }));
        Assert.That((await memory.GetAsync("c"))!.ExpiresAt, Is.Not.Null);
    }

    [Test]
    public async Task AJournalSyncThatFails_FailsTheWrite_AndLaterWritesAndTheReplayAreUnharmed()
    {
        var memory = new MemoryStateStore();
        var first = new WriteBehindStateStore(new FlushBlockingStore(new NonDisposingStore(memory)) { Blocked = true }, new WriteBehindOptions { JournalDirectory = _root, FlushInterval = TimeSpan.FromMinutes(10), SegmentBytes = 64 * 1024 });
        await first.SetAsync("before", new byte[] { 1 });
        StateKit.Internal.DurableFile.InjectedErrno = 5; // EIO
        try
        {
            var error = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await first.SetAsync("failed", new byte[] { 2 }));
            Assert.That(error!.WriteMayHaveApplied, Is.True, "the record may be on disk although its sync failed");
        }
        finally
        {
            StateKit.Internal.DurableFile.InjectedErrno = 0;
        }

        Assert.That(await first.GetAsync("failed"), Is.Null, "not acknowledged, not visible");
        await first.SetAsync("after", new byte[] { 3 });
        await first.DisposeAsync(); // the store takes no writes: everything stays in the journal

        await using var second = new WriteBehindStateStore(new NonDisposingStore(memory), new WriteBehindOptions { JournalDirectory = _root, FlushInterval = TimeSpan.FromMinutes(10), SegmentBytes = 64 * 1024 });
        await second.FlushAsync();
        Assert.That((await memory.GetAsync("before"))!.Value.ToArray(), Is.EqualTo(new byte[] { 1 }));
        Assert.That((await memory.GetAsync("after"))!.Value.ToArray(), Is.EqualTo(new byte[] { 3 }), "the write after the failure is in a new segment, not lost behind it");
    }

    [Test]
    public async Task AFlushThatFindsAnotherWriterAhead_IsACountedConflict_AndTheStoreKeepsItsValue()
    {
        var memory = new MemoryStateStore();
        await using var store = new WriteBehindStateStore(new NonDisposingStore(memory), new WriteBehindOptions { JournalDirectory = _root, FlushInterval = TimeSpan.FromMinutes(10), SegmentBytes = 64 * 1024 });
        await store.SetAsync("k", new byte[] { 1 });
        await memory.SetAsync("k", new byte[] { 9 });
        await memory.SetAsync("k", new byte[] { 9, 9 }); // another writer, straight to the store, ahead of the pending version 1
        await store.FlushAsync();
        Assert.That(store.Conflicts, Is.EqualTo(1));
        Assert.That((await memory.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 9, 9 }));
    }

    [Test]
    public async Task AKilledProcess_LosesNoAcknowledgedWrite_AndEachReachesPostgresExactlyOnce()
    {
        var schema = "sk_wbkill_" + Guid.NewGuid().ToString("N")[..10];
        var acknowledged = new Dictionary<string, long>();
        using (var child = ChildProcess.Start("write-behind", _root, TestServers.Postgres, schema, "20"))
        {
            try
            {
                while (acknowledged.Values.Sum() < 300)
                {
                    var line = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                    if (line is null)
                    {
                        Assert.Fail("the writer ended: " + await child.StandardError.ReadToEndAsync());
                    }

                    var parts = line!.Split(' ');
                    acknowledged[parts[1]] = long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            finally
            {
                child.Kill(); // SIGKILL: nothing was flushed (a ten-minute flush interval)
                await child.WaitForExitAsync();
            }
        }

        var postgresOptions = new PostgresStateStoreOptions { ConnectionString = TestServers.Postgres, Schema = schema };
        try
        {
            await using (var postgres = new PostgresStateStore(postgresOptions))
            {
                Assert.That(await postgres.GetAsync("wb/0"), Is.Null, "the writes were only in the journal");
            }

            await using (var restarted = new WriteBehindStateStore(new PostgresStateStore(postgresOptions), new WriteBehindOptions { JournalDirectory = _root }))
            {
                await restarted.FlushAsync();
                await restarted.FlushAsync(); // a second flush of the same journal changes nothing
            }

            await using var check = new PostgresStateStore(postgresOptions);
            foreach (var (key, version) in acknowledged)
            {
                var entry = await check.GetAsync(key);
                Assert.That(entry, Is.Not.Null, key);

                // The last acknowledgement may not have been printed before the kill: the store is at it or one past it,
                // and its value always belongs to its version (applied once, never twice).
                Assert.That(entry!.Version, Is.InRange(version, version + 1), key);
                Assert.That(Encoding.UTF8.GetString(entry.Value.Span), Is.EqualTo($"{key}@{entry.Version}"), key);
            }
        }
        finally
        {
            await TestServers.DropSchemaAsync(schema);
        }
    }

    /// <summary>A store that reads but cannot take writes while <see cref="Blocked"/> (a slow store that fell behind).</summary>
    internal sealed class FlushBlockingStore(IStateStore inner) : DelegatingStateStore(inner)
    {
        public bool Blocked { get; set; }

        public override ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
            Blocked ? ValueTask.FromException<bool>(new StateStoreUnavailableException(Name, "SetAtVersion", key, "blocked (test)")) : base.SetAtVersionAsync(key, value, version, expiresAt, cancellationToken);

        public override ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) =>
            Blocked ? ValueTask.FromException<bool>(new StateStoreUnavailableException(Name, "Delete", key, "blocked (test)")) : base.DeleteAsync(key, expectedVersion, cancellationToken);
    }

    /// <summary>Counts the writes that reach the store.</summary>
    private sealed class WriteCountingStore(IStateStore inner) : DelegatingStateStore(inner)
    {
        public int Writes { get; private set; }

        public override ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default)
        {
            Writes++;
            return base.SetAtVersionAsync(key, value, version, expiresAt, cancellationToken);
        }
    }

    [Test]
    public async Task ABackgroundFlushOfAnOlderSnapshot_NeverLandsAfterAVersionPreservingWriteThatPassedIt()
    {
        // Found by the L1 + write-behind + PostgreSQL combination fixture (1 run in 11): the flush loop took a key's
        // pending write, a version-preserving write then flushed that key itself and wrote an expired newer version, and
        // the loop's late write of the older snapshot brought the key back to life.
        var time = new StateKit.Testing.ManualTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var memory = new MemoryStateStore(new StateStoreOptions(), time);
        var gate = new FirstVersionedWriteGate(memory);
        await using var store = new WriteBehindStateStore(gate, new WriteBehindOptions { JournalDirectory = _root, FlushInterval = TimeSpan.FromMinutes(10), SegmentBytes = 64 * 1024 }, null, time);
        await store.SetAsync("k", new byte[] { 1 });

        var flushing = Task.Run(() => store.FlushAsync());
        await gate.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the flush is writing version 1
        var passing = store.SetAtVersionAsync("k", new byte[] { 4 }, 4, time.GetUtcNow() - TimeSpan.FromMinutes(1)).AsTask();
        await Task.WhenAny(passing, Task.Delay(200));
        gate.Release();
        await flushing.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(await passing.WaitAsync(TimeSpan.FromSeconds(30)), Is.True);

        Assert.That(await store.GetAsync("k"), Is.Null, "version 4 expired; version 1 must not come back");
        Assert.That(await memory.GetAsync("k"), Is.Null, "nor in the store");
        var listed = new List<string>();
        await foreach (var key in store.ListKeysAsync())
        {
            listed.Add(key);
        }

        Assert.That(listed, Is.Empty);
    }

    /// <summary>Holds the first version-preserving write (the flush of the first pending value) until released.</summary>
    private sealed class FirstVersionedWriteGate(IStateStore inner) : DelegatingStateStore(inner)
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.TrySetResult();

        public override async ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                Entered.TrySetResult();
                await _release.Task.ConfigureAwait(false);
            }

            return await base.SetAtVersionAsync(key, value, version, expiresAt, cancellationToken).ConfigureAwait(false);
        }
    }
}
