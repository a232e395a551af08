using NUnit.Framework;
using StateKit.Redis;
using StateKit.Testing;
using StateKit.Tests.Testing;

namespace StateKit.Tests.Redis;

/// <summary>The conformance suite, bare, through a pass-through decorator and behind the L1 tier, against <see cref="RedisStateStore"/> on the test server; each run uses its own Redis key prefix.</summary>
[TestFixture(StorePipeline.Bare)]
[TestFixture(StorePipeline.PassThrough)]
[TestFixture(StorePipeline.L1)]
public sealed class RedisStateStoreConformanceTests(StorePipeline pipeline) : StateStoreConformanceTests<RedisStateStore>
{
    protected override IStateStore Decorate(RedisStateStore store) => pipeline.Wrap(store, Time);

    private readonly string _redisPrefix = "sktest-" + Guid.NewGuid().ToString("N")[..10];

    protected override ValueTask<RedisStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var redisOptions = new RedisStateStoreOptions { Configuration = TestServers.Redis, RedisKeyPrefix = _redisPrefix };
        options.CopyTo(redisOptions);
        return new(new RedisStateStore(redisOptions, timeProvider));
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) => DamageAsync(_redisPrefix, keyPrefix, key);

    /// <summary>Flips a byte of a stored value in Redis, as damaged memory would.</summary>
    /// <param name="redisPrefix">The store's Redis key prefix.</param>
    /// <param name="keyPrefix">The store's key prefix.</param>
    /// <param name="key">The key.</param>
    /// <param name="layout">The store's key layout.</param>
    /// <param name="cluster">Whether the store is on the test Redis Cluster.</param>
    internal static async ValueTask<bool> DamageAsync(string redisPrefix, string keyPrefix, string key, RedisKeyLayout layout = RedisKeyLayout.SingleServer, bool cluster = false)
    {
        using var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(cluster ? TestServers.RedisCluster : TestServers.Redis);
        var db = multiplexer.GetDatabase();
        var redisKey = StateKit.Redis.Internal.RedisKeys.For($"{redisPrefix}:{keyPrefix.Length}:{keyPrefix}:", layout).Entry(key);
        var value = (byte[]?)await db.HashGetAsync(redisKey, "v");
        if (value is not { Length: > 0 })
        {
            return false;
        }

        value[value.Length / 2] ^= 0x5A;
        await db.HashSetAsync(redisKey, "v", value);
        return true;
    }
}
