using NUnit.Framework;
using StateKit.Redis;
using StateKit.Testing;

namespace StateKit.Tests.Redis;

/// <summary>The conformance suite against <see cref="RedisStateStore"/> on the test server; each run uses its own Redis key prefix.</summary>
public sealed class RedisStateStoreConformanceTests : StateStoreConformanceTests<RedisStateStore>
{
    private readonly string _redisPrefix = "sktest-" + Guid.NewGuid().ToString("N")[..10];

    protected override ValueTask<RedisStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var redisOptions = new RedisStateStoreOptions { Configuration = TestServers.Redis, RedisKeyPrefix = _redisPrefix };
        options.CopyTo(redisOptions);
        return new(new RedisStateStore(redisOptions, timeProvider));
    }

    protected override async ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key)
    {
        using var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        var db = multiplexer.GetDatabase();
        var redisKey = $"{_redisPrefix}:{keyPrefix.Length}:{keyPrefix}:e:{key}";
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
