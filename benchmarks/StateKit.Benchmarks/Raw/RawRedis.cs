using StackExchange.Redis;

namespace StateKit.Benchmarks.Raw;

/// <summary>
/// StackExchange.Redis on one multiplexer: a hash per entry (value, version) read with HMGET, the version-checked
/// write as the same kind of Lua script the store runs, a MULTI/EXEC transaction for batches, RPUSH/LRANGE for lists.
/// </summary>
internal sealed class RawRedis : IRawStore
{
    private const string ConditionalScript = "local v = tonumber(redis.call('HGET', KEYS[1], 'n')) or 0 if v ~= tonumber(ARGV[2]) then return -1 end redis.call('HSET', KEYS[1], 'v', ARGV[1], 'n', v + 1) return v + 1";
    private const string SetScript = "return redis.call('HINCRBY', KEYS[1], 'n', 1) + 0 * redis.call('HSET', KEYS[1], 'v', ARGV[1])";
    private static readonly RedisValue[] Fields = ["v", "n", "x"];
    private readonly ConnectionMultiplexer _connection;
    private readonly IDatabase _db;
    private readonly string _prefix = "raw:{" + Guid.NewGuid().ToString("N") + "}:"; // one hash slot on a cluster

    private RawRedis(ConnectionMultiplexer connection)
    {
        _connection = connection;
        _db = connection.GetDatabase();
    }

    public static async Task<RawRedis> CreateAsync(string configuration) => new(await ConnectionMultiplexer.ConnectAsync(configuration));

    public async ValueTask<byte[]?> GetAsync(string key)
    {
        var fields = await _db.HashGetAsync(_prefix + key, Fields);
        return fields[0].IsNull ? null : (byte[])fields[0]!;
    }

    public async ValueTask<long> SetAsync(string key, byte[] value) => (long)await _db.ScriptEvaluateAsync(SetScript, [_prefix + key], [value]);

    public async ValueTask<long> SetIfVersionAsync(string key, byte[] value, long expected) =>
        (long)await _db.ScriptEvaluateAsync(ConditionalScript, [_prefix + key], [value, expected]);

    public async ValueTask SetManyAsync(IReadOnlyList<string> keys, byte[] value)
    {
        var transaction = _db.CreateTransaction();
        var pending = new Task[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            pending[i] = transaction.HashIncrementAsync(_prefix + keys[i], "n");
            _ = transaction.HashSetAsync(_prefix + keys[i], "v", value);
        }

        await transaction.ExecuteAsync();
        await Task.WhenAll(pending);
    }

    public async ValueTask<long> AppendAsync(string key, byte[] item) => await _db.ListRightPushAsync(_prefix + key, item);

    public async ValueTask<IReadOnlyList<byte[]>> LastAsync(string key, int count) =>
        (await _db.ListRangeAsync(_prefix + key, -count, -1)).Select(v => (byte[])v!).ToArray();

    public async ValueTask DisposeAsync()
    {
        _connection.Dispose();
        await BenchmarkStore.DeleteRedisKeysAsync(_connection.Configuration, _prefix + "*");
    }
}
