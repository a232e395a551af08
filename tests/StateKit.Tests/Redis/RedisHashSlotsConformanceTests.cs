using NUnit.Framework;
using StateKit.Redis;
using StateKit.Testing;

namespace StateKit.Tests.Redis;

/// <summary>
/// Issue 25: the conformance suite on the hash-slot key layout, on the test Redis Cluster (3 primaries, 3 replicas) and
/// on one server with <see cref="RedisKeyLayout.HashSlots"/> asked for. The suite's batches keep to one shard; batches
/// over several shards (atomic per shard, conditions checked first) are tested in <see cref="RedisClusterTests"/>.
/// </summary>
[TestFixture("cluster")]
[TestFixture("single")]
public sealed class RedisHashSlotsConformanceTests(string server) : StateStoreConformanceTests<RedisStateStore>
{
    private readonly string _redisPrefix = "sktest-slots-" + Guid.NewGuid().ToString("N")[..10];

    [TearDown]
    public Task RemoveKeysAsync() => TestServers.DeleteRedisKeysAsync(_redisPrefix, cluster: server == "cluster");

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) =>
        RedisStateStoreConformanceTests.DamageAsync(_redisPrefix, keyPrefix, key, RedisKeyLayout.HashSlots, cluster: server == "cluster");

    protected override ValueTask<RedisStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var redisOptions = new RedisStateStoreOptions
        {
            Configuration = server == "cluster" ? TestServers.RedisCluster : TestServers.Redis,
            RedisKeyPrefix = _redisPrefix,
            KeyLayout = server == "cluster" ? RedisKeyLayout.Automatic : RedisKeyLayout.HashSlots,
        };
        options.CopyTo(redisOptions);
        return new(new RedisStateStore(redisOptions, timeProvider));
    }
}
