using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StackExchange.Redis;
using StateKit.Redis;
using StateKit.Testing;

namespace StateKit.Tests.Redis;

/// <summary>
/// Issue 25: the Redis store on the test Redis Cluster (3 primaries, 3 replicas). Before, listing 300 keys returned
/// 96-104 of them, a purge removed 27-36 of 90 due entries, batches, lists, sessions and the provider failed with raw
/// CROSSSLOT errors. Now the store picks the hash-slot layout on a cluster (recorded, and readable through
/// <see cref="RedisStateStore.KeyLayout"/>), a scope's or session's keys share one hash slot, listing and purging run
/// on every primary, and a batch is atomic per shard with every condition checked before anything is written.
/// </summary>
public sealed class RedisClusterTests
{
    private readonly string _redisPrefix = "sktest-cl-" + Guid.NewGuid().ToString("N")[..10];
    private readonly List<IAsyncDisposable> _disposables = [];

    [TearDown]
    public async Task RemoveAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        _disposables.Clear();
        await TestServers.DeleteRedisKeysAsync(_redisPrefix, cluster: true);
        await TestServers.DeleteRedisKeysAsync(_redisPrefix);
    }

    [Test]
    public async Task OnACluster_TheLayoutIsHashSlots_AndRecordedUnderThePrefix()
    {
        var store = Store();
        Assert.That(store.KeyLayout, Is.Null, "not known before the store has talked to Redis");
        await store.SetAsync("a", new byte[] { 1 });
        Assert.That(store.KeyLayout, Is.EqualTo(RedisKeyLayout.HashSlots));

        var db = (await Multiplexer()).GetDatabase();
        Assert.That((string?)await db.StringGetAsync($"{_redisPrefix}:0::layout"), Is.EqualTo("2s"));

        var refused = Store(o => o.KeyLayout = RedisKeyLayout.SingleServer);
        var error = await Assert.ThrowsAsync<StateStoreConfigurationException>(async () => await refused.GetAsync("a"));
        Assert.That(error!.Message, Does.Contain("Redis Cluster"));
    }

    [Test]
    public async Task OnACluster_TheChangeFeedIsSharded_ANoticeGoesToItsBucketsChannelOnly()
    {
        // Issue 25: a plain PUBLISH on a cluster is forwarded to every node; SPUBLISH stays on the shard of its channel.
        var writer = Store();
        var listener = Store();
        var (subscription, heard) = await ListenAsync(listener);
        await using var listening = subscription;
        var multiplexer = await Multiplexer();
        Assert.That((string?)await multiplexer.GetDatabase().StringGetAsync($"{_redisPrefix}:0::layout"), Is.EqualTo("2s"), "layout 2 with a sharded feed (every node runs Redis 7)");

        const string key = "chat/1/turns";
        var keys = StateKit.Redis.Internal.RedisKeys.For($"{_redisPrefix}:0::", RedisKeyLayout.HashSlots, shardedFeed: true);
        var channel = keys.Channel(keys.Bucket(key));
        Assert.That(channel, Does.StartWith($"{_redisPrefix}:0::{{").And.EndWith("}changes"));
        var subscriber = multiplexer.GetSubscriber();
        var classic = await subscriber.SubscribeAsync(RedisChannel.Literal($"{_redisPrefix}:0::changes"));
        var sharded = await subscriber.SubscribeAsync(RedisChannel.Sharded(channel));

        await writer.SetAsync(key, new byte[] { 1 });
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            var message = await sharded.ReadAsync(wait.Token);
            Assert.That((string?)message.Message, Is.EqualTo($"s|1|{keys.Entry(key)}"));
        }

        await WaitAsync(() => heard.Any(c => c.Kind == StateStoreChangeKind.Set && c.Key == key && c.Version == 1));
        await writer.ListAppendAsync("chat/1/log", new byte[] { 2 });
        await WaitAsync(() => heard.Any(c => c.Kind == StateStoreChangeKind.ListAppend && c.Key == "chat/1/log"));
        Assert.That(classic.TryRead(out _), Is.False, "nothing on the classic channel");
        await classic.UnsubscribeAsync();
        await sharded.UnsubscribeAsync();
    }

    [Test]
    public async Task ALayoutRecordedBeforeShardedFeeds_KeepsTheClassicChannel()
    {
        // Data written by a StateKit before sharded feeds (marker "2"): every instance goes on using the one channel.
        var multiplexer = await Multiplexer();
        await multiplexer.GetDatabase().StringSetAsync($"{_redisPrefix}:0::layout", "2");
        var classic = await multiplexer.GetSubscriber().SubscribeAsync(RedisChannel.Literal($"{_redisPrefix}:0::changes"));
        var writer = Store();
        var listener = Store();
        var (subscription, heard) = await ListenAsync(listener);
        await using var listening = subscription;
        await writer.SetAsync("chat/2/turns", new byte[] { 1 });
        await WaitAsync(() => heard.Any(c => c.Key == "chat/2/turns"));
        Assert.That(writer.KeyLayout, Is.EqualTo(RedisKeyLayout.HashSlots));
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.That((string?)(await classic.ReadAsync(wait.Token)).Message, Does.StartWith("s|1|"));
        await classic.UnsubscribeAsync();
    }

    [Test]
    public async Task ARecordedLayout_ThatTheOptionsContradict_IsRefused_AndAutomaticAdoptsIt()
    {
        // On the single server: data written in the hash-slot layout stays readable only in that layout.
        var slots = Store(o => o.KeyLayout = RedisKeyLayout.HashSlots, cluster: false);
        await slots.SetAsync("shared/board/v/x", new byte[] { 7 });
        var contradicting = Store(o => o.KeyLayout = RedisKeyLayout.SingleServer, cluster: false);
        var error = await Assert.ThrowsAsync<StateStoreConfigurationException>(async () => await contradicting.GetAsync("shared/board/v/x"));
        Assert.That(error!.Message, Does.Contain("HashSlots layout"));

        var automatic = Store(cluster: false);
        Assert.That((await automatic.GetAsync("shared/board/v/x"))!.Value.ToArray(), Is.EqualTo(new byte[] { 7 }));
        Assert.That(automatic.KeyLayout, Is.EqualTo(RedisKeyLayout.HashSlots));
    }

    [Test]
    public async Task Listing_300Keys_OnEveryPrimary_ReturnsEachOnce()
    {
        var store = Store();
        var keys = Enumerable.Range(0, 300).Select(i => $"item/{i:D4}").ToArray();
        foreach (var key in keys)
        {
            await store.SetAsync(key, new byte[] { 1 });
        }

        Assert.That(await PrimariesHoldingAsync(), Is.EqualTo(3), "the keys are spread over all three primaries");
        var listed = new List<string>();
        await foreach (var key in store.ListKeysAsync("item/"))
        {
            listed.Add(key);
        }

        Assert.That(listed.Order(StringComparer.Ordinal), Is.EqualTo(keys));
    }

    [Test]
    public async Task Purge_90DueEntriesAndLists_OnEveryPrimary_RemovesAll()
    {
        var time = new ManualTimeProvider();
        var store = Store(time: time);
        for (var i = 0; i < 90; i++)
        {
            await store.SetAsync($"due/{i}", new byte[] { 1 }, new StateWriteOptions(TimeToLive: TimeSpan.FromMinutes(1)));
            await store.SetAsync($"kept/{i}", new byte[] { 1 });
        }

        for (var i = 0; i < 30; i++)
        {
            await store.ListAppendAsync($"chat/{i}", [new byte[] { 1 }], TimeSpan.FromMinutes(1));
        }

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.That(await store.PurgeExpiredAsync(), Is.EqualTo(120));
        Assert.That(await store.PurgeExpiredAsync(), Is.Zero);
        var left = 0;
        await foreach (var unused in store.ListKeysAsync())
        {
            left++;
        }

        Assert.That(left, Is.EqualTo(90));
    }

    [Test]
    public async Task ABatch_IsAtomicWithinAShard_AndAcrossShardsChecksEveryConditionFirst()
    {
        var store = Store();
        await store.SetAsync("orders/1/taken", new byte[] { 9 });
        Assert.That(store.GetCapabilities(), Is.EqualTo(StateStoreCapabilities.None), "once the layout is known: no cross-shard atomicity is promised");

        // One shard: one script, all or nothing.
        await Assert.ThrowsAsync<StateConflictException>(async () => await store.SetManyAsync(
        [
            new StateWrite("orders/1/a", new byte[] { 1 }),
            new StateWrite("orders/1/taken", new byte[] { 2 }, StateWriteOptions.IfNotExists),
        ]));
        Assert.That(await store.ExistsAsync("orders/1/a"), Is.False, "a conflict in one shard's batch writes nothing of it");

        // Several shards: a conflict found by the first pass writes nothing either.
        var conflict = await Assert.ThrowsAsync<StateConflictException>(async () => await store.SetManyAsync(
        [
            new StateWrite("orders/2/a", new byte[] { 1 }),
            new StateWrite("orders/3/a", new byte[] { 1 }),
            new StateWrite("orders/3/a", new byte[] { 2 }, StateWriteOptions.IfVersion(1)), // sees the batch's own write
            new StateWrite("orders/1/taken", new byte[] { 2 }, StateWriteOptions.IfVersion(5)),
        ]));
        Assert.That((conflict!.Key, conflict.CurrentVersion), Is.EqualTo(("orders/1/taken", 1L)));
        Assert.That(await store.ExistsAsync("orders/2/a") || await store.ExistsAsync("orders/3/a"), Is.False, "nothing was written");

        var versions = await store.SetManyAsync(
        [
            new StateWrite("orders/2/a", new byte[] { 1 }),
            new StateWrite("orders/3/a", new byte[] { 1 }, StateWriteOptions.IfNotExists),
            new StateWrite("orders/3/a", new byte[] { 2 }, StateWriteOptions.IfVersion(1)),
            new StateWrite("orders/1/taken", new byte[] { 3 }, StateWriteOptions.IfVersion(1)),
        ]);
        Assert.That(versions, Is.EqualTo(new long[] { 1, 1, 2, 2 }));
        Assert.That((await store.GetAsync("orders/3/a"))!.Value.ToArray(), Is.EqualTo(new byte[] { 2 }));
    }

    [Test]
    public async Task AScopeAndASession_EachKeepEveryKeyInOneHashSlot()
    {
        var services = new ServiceCollection();
        services.AddStateKit().UseRedis(TestServers.RedisCluster, o => o.RedisKeyPrefix = _redisPrefix).AddSessions<Chat>();
        await using var container = services.BuildServiceProvider();
        var provider = container.GetRequiredService<IStateProvider>();
        var sessions = container.GetRequiredService<ISessionManager<Chat>>();

        var slotsOfScopes = new HashSet<int>();
        for (var s = 0; s < 6; s++)
        {
            var scope = StateScope.Shared("board-" + s);
            await provider.SetAsync(scope, "title", "v1");
            await provider.SetAsync(scope, "title", "v2");
            await provider.AppendAsync(scope, "log", new[] { "created" });
            await provider.CreateCheckpointAsync(scope, "first");
            await container.GetRequiredService<IStateEventStreams>().AppendAsync(scope, "events", new[] { "started" });
            Assert.That((await provider.GetHistoryAsync(scope, "title")).Count, Is.EqualTo(2));
            slotsOfScopes.Add(await SingleSlotAsync($"shared/board-{s}/"));
        }

        Assert.That(slotsOfScopes, Has.Count.GreaterThan(1), "different scopes land in different slots");

        var session = await sessions.CreateAsync(new Chat { Turns = 1 });
        await provider.SetAsync(session.Scope, "draft", "hello");
        var slot = await SingleSlotAsync("session/" + session.Scope.OwnerId + "/");
        Assert.That(await SingleSlotAsync("session-scopes/"), Is.EqualTo(slot), "the scope's owner entry is in the scope's slot");

        // The record is found by the session id, a secret the scope id is kept apart from: it has its own slot, and is
        // written after the owner entry (as on a store without atomic batches).
        await SingleSlotAsync("sessions/");

        var active = new List<string>();
        await foreach (var id in sessions.ListActiveAsync())
        {
            active.Add(id);
        }

        Assert.That(active, Is.EqualTo(new[] { session.Id }));
        Assert.That(await sessions.DeleteAsync(session.Id), Is.True);
    }

    [Test]
    public async Task ReplicaAcknowledgements_AreAskedOfTheKeysOwnPrimary()
    {
        // Each primary of the test cluster has one replica: one acknowledgement comes, two cannot.
        var store = Store(o => o.MinReplicaAcknowledgements = 1);
        Assert.That(await store.SetAsync("orders/1/a", new byte[] { 1 }), Is.EqualTo(1));
        Assert.That(await store.SetManyAsync([new StateWrite("orders/1/a", new byte[] { 2 }), new StateWrite("orders/1/b", new byte[] { 2 })]), Is.EqualTo(new long[] { 2, 1 }));
        await store.ListAppendAsync("orders/2/log", [new byte[] { 1 }]);

        var demanding = Store(o => { o.MinReplicaAcknowledgements = 2; o.OperationTimeout = TimeSpan.FromMilliseconds(300); });
        var error = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await demanding.SetAsync("orders/3/a", new byte[] { 1 }));
        Assert.That(error!.WriteMayHaveApplied, Is.True);
        Assert.That(error.Message, Does.Contain("1 of the 2 replicas"));
    }

    /// <summary>The one hash slot of every Redis key of this test whose StateKit key starts with <paramref name="prefix"/>.</summary>
    private async Task<int> SingleSlotAsync(string prefix)
    {
        var multiplexer = await Multiplexer();
        var slots = new HashSet<int>();
        foreach (var server in multiplexer.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: _redisPrefix + "*"))
            {
                var text = (string)key!;
                var kind = text.IndexOf("}", StringComparison.Ordinal) + 1;
                if (kind > 0 && text.Length > kind + 2 && text[(kind + 2)..].StartsWith(prefix, StringComparison.Ordinal))
                {
                    slots.Add(multiplexer.HashSlot(key));
                }
            }
        }

        Assert.That(slots, Has.Count.EqualTo(1), $"the keys under '{prefix}' are in one slot");
        return slots.Single();
    }

    private async Task<int> PrimariesHoldingAsync()
    {
        var multiplexer = await Multiplexer();
        var holding = 0;
        foreach (var server in multiplexer.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var unused in server.KeysAsync(pattern: _redisPrefix + "*"))
            {
                holding++;
                break;
            }
        }

        return holding;
    }

    /// <summary>Subscribes to every change of <paramref name="store"/>; the notices pile up in the queue.</summary>
    private static async Task<(IAsyncDisposable Subscription, System.Collections.Concurrent.ConcurrentQueue<StateStoreChange> Heard)> ListenAsync(RedisStateStore store)
    {
        var heard = new System.Collections.Concurrent.ConcurrentQueue<StateStoreChange>();
        var subscription = await store.SubscribeAsync(string.Empty, (change, _) =>
        {
            heard.Enqueue(change);
            return ValueTask.CompletedTask;
        });
        return (subscription, heard);
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(until), "the notice did not arrive in time");
            await Task.Delay(20);
        }
    }

    private async Task<ConnectionMultiplexer> Multiplexer()
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(TestServers.RedisCluster);
        _disposables.Add(multiplexer);
        return multiplexer;
    }

    private RedisStateStore Store(Action<RedisStateStoreOptions>? configure = null, bool cluster = true, TimeProvider? time = null)
    {
        var options = new RedisStateStoreOptions { Configuration = cluster ? TestServers.RedisCluster : TestServers.Redis, RedisKeyPrefix = _redisPrefix };
        configure?.Invoke(options);
        var store = new RedisStateStore(options, time);
        _disposables.Add(store);
        return store;
    }

    public sealed class Chat
    {
        public int Turns { get; set; }
    }
}
