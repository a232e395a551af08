using Npgsql;
using NUnit.Framework;
using StateKit.Testing;

namespace StateKit.Tests.Hybrid;

/// <summary>
/// Change feeds across instances (two store objects on one backend, as two app instances have) and the L1 tier on
/// them: a write on one is seen by the other once its notice arrives, never stale after it; a lost feed connection
/// drops everything the tier holds.
/// </summary>
public abstract class CrossInstanceChangeFeedTests(string kind)
{
    private readonly ManualTimeProvider _time = new(DateTimeOffset.UtcNow);
    private IStateStore _first = null!;
    private IStateStore _second = null!;
    private Func<Task> _cleanup = () => Task.CompletedTask;

    [SetUp]
    public void CreateTwins() => (_first, _second) = TestStores.CreateTwins(kind, _time, out _cleanup);

    [TearDown]
    public async Task DisposeTwinsAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
        await _cleanup();
    }

    [Test]
    public async Task AWriteOnOneInstance_IsReportedToTheOther_WithItsVersionAndKind()
    {
        var seen = new List<StateStoreChange>();
        await using var subscription = await _second.GetService<IStateChangeFeed>()!.SubscribeAsync("chat/", (change, _) =>
        {
            lock (seen)
            {
                seen.Add(change);
            }

            return ValueTask.CompletedTask;
        });
        var v1 = await _first.SetAsync("chat/a", new byte[] { 1 });
        var v2 = await _first.SetAsync("chat/a", new byte[] { 2 }, new StateWriteOptions(v1));
        await _first.SetAsync("other/b", new byte[] { 1 });
        await _first.ListAppendAsync("chat/list", [new byte[] { 1 }, new byte[] { 2 }, new byte[] { 3 }]);
        await _first.DeleteAsync("chat/a");
        await Until(() => Count(seen) >= 4, "four notices");
        lock (seen)
        {
            Assert.That(seen, Is.EqualTo(new[]
            {
                new StateStoreChange("chat/a", StateStoreChangeKind.Set, v1),
                new StateStoreChange("chat/a", StateStoreChangeKind.Set, v2),
                new StateStoreChange("chat/list", StateStoreChangeKind.ListAppend, 3),
                new StateStoreChange("chat/a", StateStoreChangeKind.Delete, v2),
            }));
        }
    }

    [Test]
    public async Task ATouchOnOneInstance_IsATouchNotice_AndTheOthersL1StopsServingTheOldExpiry()
    {
        // Issue 23, item 4: a touch keeps the version, so as a set notice it looked known to a tier holding that version.
        var notices = new NoticeCounter(_second);
        await using var reader = new L1StateStore(notices, new L1StateStoreOptions { Lifetime = TimeSpan.FromHours(2) }, _time);
        await reader.GetAsync("warm-up");
        var version = await _first.SetAsync("session", new byte[] { 1 }, new StateWriteOptions(null, TimeSpan.FromHours(1)));
        await Until(async () => (await reader.GetAsync("session"))?.Version == version && reader.Count == 1, "the write seen and held by the other instance");

        var seen = new List<StateStoreChange>();
        await using var subscription = await _second.GetService<IStateChangeFeed>()!.SubscribeAsync("session", (change, _) =>
        {
            lock (seen)
            {
                seen.Add(change);
            }

            return ValueTask.CompletedTask;
        });
        Assert.That(await _first.TouchAsync("session", TimeSpan.FromMinutes(5)), Is.True);
        await Until(
            () =>
            {
                lock (seen)
                {
                    return seen.Any(c => c.Kind != StateStoreChangeKind.Set); // the set's own notice may come first
                }
            },
            "the touch notice");
        lock (seen)
        {
            Assert.That(seen.First(c => c.Kind != StateStoreChangeKind.Set), Is.EqualTo(new StateStoreChange("session", StateStoreChangeKind.Touch, version)));
        }

        await Until(async () => (await reader.GetAsync("session"))?.ExpiresAt < _time.GetUtcNow() + TimeSpan.FromMinutes(10), "the other instance's tier to answer the new expiry");
        _time.Advance(TimeSpan.FromMinutes(6));
        Assert.That(await reader.GetAsync("session"), Is.Null, "expired with the touch's time to live, not the held hour");
    }

    [Test]
    public async Task L1OnTwoInstances_NeverAnswersStaleOnceTheNoticeArrived()
    {
        var notices = new NoticeCounter(_second);
        await using var writer = new L1StateStore(new Provider.NonDisposingStore(_first), null, _time);
        await using var reader = new L1StateStore(notices, null, _time);
        await reader.GetAsync("warm-up");
        var latest = new Dictionary<string, long>();
        var random = new Random(11);
        var writes = 0L;
        var operations = kind switch { "memory" => 3000, "sqlite" or "file" => 200, _ => 600 }; // polled feeds wait for a poll
        for (var i = 0; i < operations; i++)
        {
            var key = "k" + random.Next(10);
            if (random.Next(3) == 0)
            {
                latest[key] = await writer.SetAsync(key, BitConverter.GetBytes(i));
                writes++;
                continue;
            }

            await reader.GetAsync(key); // may be older before the notice
            await Until(() => notices.Covers(writes), "the notices of every write so far");
            notices.Settle(writes);
            Assert.That((await reader.GetAsync(key))?.Version ?? 0, Is.EqualTo(latest.GetValueOrDefault(key)), $"operation {i}: current after the notice");
        }
    }

    [Test]
    public async Task L1WriteThroughOnTwoInstances_NeverAnswersStaleOnceTheNoticeArrived()
    {
        // Both instances write with compare-and-set and a time to live, so each holds its own writes (write-through) and
        // must drop them when the other instance's notice arrives.
        var firstNotices = new NoticeCounter(_first);
        var secondNotices = new NoticeCounter(_second);
        await using var a = new L1StateStore(firstNotices, null, _time);
        await using var b = new L1StateStore(secondNotices, null, _time);
        await a.GetAsync("warm-up");
        await b.GetAsync("warm-up");
        var latest = new Dictionary<string, long>();
        var random = new Random(17);
        long writes = 0, conflicts = 0;
        var operations = kind switch { "memory" => 3000, "sqlite" or "file" => 200, _ => 600 };
        for (var i = 0; i < operations; i++)
        {
            var key = "w" + random.Next(8);
            var instance = random.Next(2) == 0 ? a : b;
            if (random.Next(3) == 0)
            {
                var seen = (await instance.GetAsync(key))?.Version ?? 0; // may be older before the notice: then the write conflicts
                try
                {
                    latest[key] = await instance.SetAsync(key, BitConverter.GetBytes(i), new StateWriteOptions(seen, TimeSpan.FromHours(1)));
                    writes++;
                }
                catch (StateConflictException)
                {
                    conflicts++;
                }

                continue;
            }

            await Until(() => firstNotices.Covers(writes) && secondNotices.Covers(writes), $"the notices of every write so far on both instances ({writes} writes; {firstNotices} and {secondNotices})");
            firstNotices.Settle(writes);
            secondNotices.Settle(writes);
            Assert.That((await instance.GetAsync(key))?.Version ?? 0, Is.EqualTo(latest.GetValueOrDefault(key)), $"operation {i}: current after the notice");
        }

        Assert.That(writes, Is.GreaterThan(operations / 5), $"writes landed ({conflicts} conflicts)");
        Assert.That(a.Count + b.Count, Is.GreaterThan(0), "the tiers held entries");
    }

    /// <summary>
    /// Holds 20 entries in an L1 tier on the second instance, runs <paramref name="killFeedConnection"/>, and checks that
    /// the tier was emptied by a resync and that notices flow again after the feed reconnects.
    /// </summary>
    protected async Task LostConnectionScenarioAsync(Func<Task> killFeedConnection)
    {
        var notices = new NoticeCounter(_second);
        await using var reader = new L1StateStore(notices, null, _time);
        for (var i = 0; i < 20; i++)
        {
            await _first.SetAsync("k" + i, new byte[] { 1 });
        }

        for (var i = 0; i < 20; i++)
        {
            await reader.GetAsync("k" + i);
        }

        Assert.That(reader.Count, Is.EqualTo(20));
        await killFeedConnection();
        await Until(() => reader.Count == 0 && notices.Resyncs > 0, "a resync after the lost connection");
        var delivered = notices.Delivered;
        var version = 0L;
        await Until(
            async () =>
            {
                version = await _first.SetAsync("k0", new byte[] { 2 });
                await Task.Delay(50);
                return notices.Delivered > delivered;
            },
            "notices again after the reconnect");
        Assert.That((await reader.GetAsync("k0"))!.Version, Is.EqualTo(version));
    }

    /// <summary>Gets the first instance.</summary>
    protected IStateStore First => _first;

    /// <summary>Gets the second instance.</summary>
    protected IStateStore Second => _second;

    /// <summary>Gets the clock.</summary>
    protected ManualTimeProvider Time => _time;

    private static int Count(List<StateStoreChange> seen)
    {
        lock (seen)
        {
            return seen.Count;
        }
    }

    protected static Task Until(Func<bool> condition, string what) => Until(() => Task.FromResult(condition()), what);

    protected static async Task Until(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60); // a loaded 2-core machine can stall a notice for seconds
        while (!await condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"timed out waiting for {what}");
            await Task.Delay(2);
        }
    }

    /// <summary>Passes the feed's notices on and counts them.</summary>
    protected sealed class NoticeCounter(IStateStore inner) : DelegatingStateStore(inner), IStateChangeFeed
    {
        private long _delivered;
        private long _resyncs;

        public long Delivered => Interlocked.Read(ref _delivered);

        public long Resyncs => Interlocked.Read(ref _resyncs);

        private long _covered;
        private long _resyncsSettled;

        /// <summary>
        /// Whether the notices so far account for <paramref name="writes"/> writes: each delivered, or (the feed's
        /// contract) covered by a resync that arrived since the last settle, after which a tier holds nothing stale.
        /// </summary>
        public bool Covers(long writes) => Delivered + _covered >= writes || Resyncs > _resyncsSettled;

        /// <summary>After a resync, counts the writes it covered as delivered, so later waits expect only newer notices.</summary>
        public void Settle(long writes)
        {
            if (Resyncs > _resyncsSettled)
            {
                _resyncsSettled = Resyncs;
                _covered = Math.Max(_covered, writes - Delivered);
            }
        }

        public override string ToString() => $"{Delivered} delivered, {Resyncs} resyncs";

        public async ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default) =>
            await InnerStore.GetService<IStateChangeFeed>()!.SubscribeAsync(prefix, async (change, token) =>
            {
                await onChange(change, token);
                Interlocked.Increment(ref change.Kind == StateStoreChangeKind.Resync ? ref _resyncs : ref _delivered);
            }, cancellationToken);

        public override object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(IStateChangeFeed) ? this : base.GetService(serviceType, serviceKey);

        protected override ValueTask DisposeAsyncCore() => ValueTask.CompletedTask; // the fixture disposes the store
    }
}

/// <summary>The cross-instance feed tests on the memory store (two wrappers of one store).</summary>
public sealed class MemoryCrossInstanceChangeFeedTests() : CrossInstanceChangeFeedTests("memory");

/// <summary>The cross-instance feed tests on the file store: two store objects on one directory, as two processes have (the change log, polled).</summary>
public sealed class FileCrossInstanceChangeFeedTests() : CrossInstanceChangeFeedTests("file")
{
    [Test]
    public Task AChangeLogMovedAside_DropsEverythingHeld_AndTheFeedRecovers() => LostConnectionScenarioAsync(async () =>
    {
        // What a writer does past the log's size limit: the watchers' offsets point past the end of the new, short log.
        var log = Path.Combine(((StateKit.File.FileStateStore)First).DirectoryPath, "changes.log");
        System.IO.File.Move(log, log + ".old", overwrite: true);
        await First.SetAsync("after-the-move", new byte[] { 1 });
    });

    [Test]
    public async Task AFailedChangeLogAppend_MakesEveryWatcherResync_AndTheFeedRecovers()
    {
        // Issue 23, item 9: the change is durable but its notice is lost; the watchers must not keep serving the old value.
        await LostConnectionScenarioAsync(async () =>
        {
            StateKit.File.Internal.FileChangeLog.InjectFailure = new IOException("EIO (injected)");
            try
            {
                await First.SetAsync("k0", new byte[] { 9 });
            }
            finally
            {
                StateKit.File.Internal.FileChangeLog.InjectFailure = null;
            }
        });

        var log = await System.IO.File.ReadAllTextAsync(Path.Combine(((StateKit.File.FileStateStore)First).DirectoryPath, "changes.log"));
        Assert.That(log, Does.StartWith("r|0|\n"), "the first line after a lost notice tells watchers that never read the old log to resync");
    }
}

/// <summary>The cross-instance feed tests on SQLite: two store objects on one file, as two processes have (the change log, polled).</summary>
public sealed class SqliteCrossInstanceChangeFeedTests() : CrossInstanceChangeFeedTests("sqlite")
{
    [Test]
    public Task PrunedUnreadNotices_DropEverythingHeld_AndTheFeedRecovers() => LostConnectionScenarioAsync(async () =>
    {
        // What pruning rows a slow watcher had not read looks like: the next row it reads is past a gap.
        var dialect = ((StateKit.Sqlite.SqliteStateStore)First).Dialect;
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + dialect.Location);
        await connection.OpenAsync();
        await using var gap = connection.CreateCommand();
        gap.CommandText = $"INSERT INTO {dialect.ChangesTable} (seq, ns, key, kind, version) VALUES ((SELECT MAX(seq) FROM {dialect.ChangesTable}) + 100, 'elsewhere', 'gap', 's', 1)";
        await gap.ExecuteNonQueryAsync();
    });
}

/// <summary>The cross-instance feed tests on PostgreSQL (LISTEN/NOTIFY), and a lost LISTEN connection.</summary>
public sealed class PostgresCrossInstanceChangeFeedTests() : CrossInstanceChangeFeedTests("postgres")
{
    [Test]
    public Task ALostFeedConnection_DropsEverythingHeld_AndTheFeedRecovers() => LostConnectionScenarioAsync(async () =>
    {
        await using var admin = NpgsqlDataSource.Create(TestServers.Postgres);
        await using var kill = admin.CreateCommand($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ({TestServers.PostgresFeedConnection}) AND pid <> pg_backend_pid()");
        await kill.ExecuteNonQueryAsync();
    });
}

/// <summary>The cross-instance feed tests on Redis (pub/sub from the write scripts), and a killed subscriber connection.</summary>
public sealed class RedisCrossInstanceChangeFeedTests() : CrossInstanceChangeFeedTests("redis")
{
    [Test]
    public Task ALostFeedConnection_DropsEverythingHeld_AndTheFeedRecovers() => LostConnectionScenarioAsync(async () =>
    {
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServers.Redis + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        await server.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
    });
}
