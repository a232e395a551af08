using System.Data.Common;
using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using Npgsql;
using StackExchange.Redis;
using StateKit.Postgres;
using StateKit.Redis;
using StateKit.Sqlite;

namespace StateKit.Benchmarks;

/// <summary>
/// One store operation next to the raw driver doing the same work with the same durability: a 1 KB get,
/// a conditional set (expected version) and a batch of 100 sets.
/// </summary>
[MemoryDiagnoser]
public abstract class ServerStoreBenchmarks
{
    protected static readonly byte[] Value = Enumerable.Range(0, 1024).Select(i => (byte)i).ToArray();

    protected IStateStore Store { get; set; } = null!;

    protected long StoreVersion { get; set; }

    protected long RawVersion { get; set; }

    protected StateWrite[] Batch { get; } = Enumerable.Range(0, 100).Select(i => new StateWrite($"batch/{i}", Value)).ToArray();

    [Benchmark]
    public async Task<StateEntry?> StateKit_Get() => await Store.GetAsync("hot");

    [Benchmark]
    public async Task StateKit_ConditionalSet() => StoreVersion = await Store.SetAsync("hot", Value, StateWriteOptions.IfVersion(StoreVersion));

    [Benchmark(OperationsPerInvoke = 100)]
    public async Task StateKit_BatchSet100() => await Store.SetManyAsync(Batch);

    protected async Task SetUpStoreAsync(IStateStore store)
    {
        Store = store;
        StoreVersion = await store.SetAsync("hot", Value);
    }
}

/// <summary>SQLite (WAL, synchronous=FULL) against Microsoft.Data.Sqlite with a reused prepared command.</summary>
public class SqliteBenchmarks : ServerStoreBenchmarks
{
    private string _path = string.Empty;
    private SqliteConnection _raw = null!;
    private SqliteCommand _get = null!;
    private SqliteCommand _update = null!;
    private SqliteCommand _upsert = null!;

    [GlobalSetup]
    public async Task SetUpAsync()
    {
        _path = Path.Combine(Path.GetTempPath(), "statekit-bench-" + Guid.NewGuid().ToString("N") + ".db");
        await SetUpStoreAsync(new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = _path, KeyPrefix = "bench" }));
        _raw = new SqliteConnection($"Data Source={_path};Pooling=False");
        await _raw.OpenAsync();
        await Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE raw (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, version INTEGER NOT NULL, expires_at INTEGER, PRIMARY KEY (ns, key)); INSERT INTO raw VALUES ('bench', 'hot', zeroblob(1024), 1, NULL);");
        RawVersion = 1;
        _get = Command("SELECT value, version, expires_at FROM raw WHERE ns = 'bench' AND key = $key AND (expires_at IS NULL OR expires_at > $now)", "$now", "$key");
        _update = Command("UPDATE raw SET value = $value, version = version + 1 WHERE ns = 'bench' AND key = $key AND version = $expected RETURNING version", "$value", "$expected", "$key");
        _upsert = Command("INSERT INTO raw (ns, key, value, version) VALUES ('bench', $key, $value, 1) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = raw.version + 1 RETURNING version", "$key", "$value");
    }

    [GlobalCleanup]
    public async Task CleanUpAsync()
    {
        await Store.DisposeAsync();
        await _raw.DisposeAsync();
        System.IO.File.Delete(_path);
    }

    [Benchmark(Baseline = true)]
    public async Task<object?> Raw_Get()
    {
        _get.Parameters[0].Value = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _get.Parameters[1].Value = "hot";
        await using var reader = await _get.ExecuteReaderAsync();
        return await reader.ReadAsync() ? reader.GetValue(0) : null;
    }

    [Benchmark]
    public async Task Raw_ConditionalSet()
    {
        _update.Parameters[0].Value = Value;
        _update.Parameters[1].Value = RawVersion;
        _update.Parameters[2].Value = "hot";
        RawVersion = (long)(await _update.ExecuteScalarAsync())!;
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public async Task Raw_BatchSet100()
    {
        await using var transaction = _raw.BeginTransaction(deferred: false);
        _upsert.Transaction = transaction;
        for (var i = 0; i < 100; i++)
        {
            _upsert.Parameters[0].Value = Batch[i].Key;
            _upsert.Parameters[1].Value = Value;
            await _upsert.ExecuteScalarAsync();
        }

        await transaction.CommitAsync();
    }

    private async Task Exec(string sql)
    {
        await using var cmd = _raw.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }

    private SqliteCommand Command(string sql, params string[] parameters)
    {
        var cmd = _raw.CreateCommand();
        cmd.CommandText = sql;
        foreach (var name in parameters)
        {
            cmd.Parameters.Add(new SqliteParameter { ParameterName = name, Value = DBNull.Value });
        }

        cmd.Prepare();
        return cmd;
    }
}

/// <summary>PostgreSQL against Npgsql on the same data source settings (pooled, auto-prepared).</summary>
public class PostgresBenchmarks : ServerStoreBenchmarks
{
    private NpgsqlDataSource _raw = null!;

    [GlobalSetup]
    public async Task SetUpAsync()
    {
        var connectionString = Environment.GetEnvironmentVariable("STATEKIT_POSTGRES") ?? throw new InvalidOperationException("Set STATEKIT_POSTGRES.");
        await SetUpStoreAsync(new PostgresStateStore(new PostgresStateStoreOptions { ConnectionString = connectionString, Schema = "statekit_bench", KeyPrefix = "bench" }));
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
        builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        _raw = builder.Build();
        await using var setup = _raw.CreateCommand("DROP TABLE IF EXISTS bench_raw; CREATE TABLE bench_raw (ns text COLLATE \"C\" NOT NULL, key text COLLATE \"C\" NOT NULL, value bytea NOT NULL, version bigint NOT NULL, expires_at bigint, PRIMARY KEY (ns, key)); INSERT INTO bench_raw VALUES ('bench', 'hot', '\\x00', 1, NULL);");
        await setup.ExecuteNonQueryAsync();
        RawVersion = 1;
    }

    [GlobalCleanup]
    public async Task CleanUpAsync()
    {
        await Store.DisposeAsync();
        await using (var drop = _raw.CreateCommand("DROP TABLE IF EXISTS bench_raw; DROP SCHEMA IF EXISTS statekit_bench CASCADE"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await _raw.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public async Task<object?> Raw_Get()
    {
        await using var cmd = _raw.CreateCommand("SELECT value, version, expires_at FROM bench_raw WHERE ns = 'bench' AND key = @key AND (expires_at IS NULL OR expires_at > @now)");
        cmd.Parameters.AddWithValue("key", "hot");
        cmd.Parameters.AddWithValue("now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await using var reader = await cmd.ExecuteReaderAsync();
        return await reader.ReadAsync() ? reader.GetValue(0) : null;
    }

    [Benchmark]
    public async Task Raw_ConditionalSet()
    {
        await using var cmd = _raw.CreateCommand("UPDATE bench_raw SET value = @value, version = version + 1 WHERE ns = 'bench' AND key = @key AND version = @expected RETURNING version");
        cmd.Parameters.AddWithValue("value", Value);
        cmd.Parameters.AddWithValue("key", "hot");
        cmd.Parameters.AddWithValue("expected", RawVersion);
        RawVersion = (long)(await cmd.ExecuteScalarAsync())!;
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public async Task Raw_BatchSet100()
    {
        await using var connection = await _raw.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection);
        for (var i = 0; i < 100; i++)
        {
            var command = new NpgsqlBatchCommand("INSERT INTO bench_raw (ns, key, value, version) VALUES ('bench', @key, @value, 1) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = bench_raw.version + 1 RETURNING version");
            command.Parameters.AddWithValue("key", Batch[i].Key);
            command.Parameters.AddWithValue("value", Value);
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync();
    }
}

/// <summary>Redis against StackExchange.Redis doing the same hash reads and the same version-checked script writes.</summary>
public class RedisBenchmarks : ServerStoreBenchmarks
{
    private const string ConditionalScript = "local v = tonumber(redis.call('HGET', KEYS[1], 'n')) or 0 if v ~= tonumber(ARGV[2]) then return -1 end redis.call('HSET', KEYS[1], 'v', ARGV[1], 'n', v + 1) return v + 1";
    private ConnectionMultiplexer _raw = null!;
    private IDatabase _db = null!;

    [GlobalSetup]
    public async Task SetUpAsync()
    {
        var configuration = Environment.GetEnvironmentVariable("STATEKIT_REDIS") ?? throw new InvalidOperationException("Set STATEKIT_REDIS.");
        await SetUpStoreAsync(new RedisStateStore(new RedisStateStoreOptions { Configuration = configuration, RedisKeyPrefix = "statekit-bench", KeyPrefix = "bench" }));
        _raw = await ConnectionMultiplexer.ConnectAsync(configuration);
        _db = _raw.GetDatabase();
        await _db.HashSetAsync("raw:hot", [new HashEntry("v", Value), new HashEntry("n", 1)]);
        RawVersion = 1;
    }

    [GlobalCleanup]
    public async Task CleanUpAsync()
    {
        await Store.DisposeAsync();
        _raw.Dispose();
    }

    [Benchmark(Baseline = true)]
    public async Task<RedisValue[]> Raw_Get() => await _db.HashGetAsync("raw:hot", ["v", "n", "x"]);

    [Benchmark]
    public async Task Raw_ConditionalSet() => RawVersion = (long)await _db.ScriptEvaluateAsync(ConditionalScript, ["raw:hot"], [Value, RawVersion]);

    [Benchmark(OperationsPerInvoke = 100)]
    public async Task Raw_BatchSet100()
    {
        var transaction = _db.CreateTransaction();
        var pending = new List<Task>(100);
        for (var i = 0; i < 100; i++)
        {
            pending.Add(transaction.HashSetAsync("raw:" + Batch[i].Key, [new HashEntry("v", Value), new HashEntry("n", i)]));
        }

        await transaction.ExecuteAsync();
        await Task.WhenAll(pending);
    }
}
