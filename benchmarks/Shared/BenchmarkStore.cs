using StateKit.Postgres;
using StateKit.Redis;
using StateKit.Sqlite;

namespace StateKit.Benchmarks;

/// <summary>A store made for one benchmark run, in its own database file, schema or key prefix, removed afterwards.</summary>
/// <param name="Store">The store.</param>
/// <param name="Location">The SQLite file, the Npgsql connection string or the Redis configuration it uses.</param>
/// <param name="RemoveData">Deletes what the run wrote (call after disposing the store).</param>
/// <param name="Twin">Creates a second store object on the same data, as another app instance has; <see langword="null"/> for the memory store.</param>
internal sealed record BenchmarkStore(IStateStore Store, string Location, Func<Task> RemoveData, Func<IStateStore>? Twin = null)
{
    /// <summary>Creates a store of <paramref name="kind"/>: memory, file, sqlite, postgres, redis or redis-cluster. Servers come from STATEKIT_POSTGRES / STATEKIT_REDIS / STATEKIT_REDIS_CLUSTER.</summary>
    public static BenchmarkStore Create(string kind)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        switch (kind)
        {
            case "memory":
                return new(new MemoryStateStore(), "memory", () => Task.CompletedTask);
            case "file":
                var root = Directory.CreateTempSubdirectory("statekit-bench-").FullName;
                return new(new StateKit.File.FileStateStore(new StateKit.File.FileStateStoreOptions { RootPath = root, KeyPrefix = "bench" }), root, () =>
                {
                    Directory.Delete(root, recursive: true);
                    return Task.CompletedTask;
                });
            case "sqlite":
                var path = Path.Combine(Path.GetTempPath(), $"statekit-bench-{run}.db");
                return new(new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = path, KeyPrefix = "bench" }), path, () =>
                {
                    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                    foreach (var file in new[] { path, path + "-wal", path + "-shm" })
                    {
                        System.IO.File.Delete(file);
                    }

                    return Task.CompletedTask;
                });
            case "postgres":
                var connectionString = Setting("STATEKIT_POSTGRES");
                var schema = $"statekit_bench_{run}";
                PostgresStateStore Postgres() => new(new PostgresStateStoreOptions { ConnectionString = connectionString, Schema = schema, KeyPrefix = "bench" });
                return new(Postgres(), connectionString, async () =>
                {
                    await using var connection = new Npgsql.NpgsqlConnection(connectionString);
                    await connection.OpenAsync();
                    await using var drop = new Npgsql.NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
                    await drop.ExecuteNonQueryAsync();
                }, Postgres);
            case "redis":
                var configuration = Setting("STATEKIT_REDIS");
                var prefix = $"statekit-bench-{run}";
                RedisStateStore Redis() => new(new RedisStateStoreOptions { Configuration = configuration, RedisKeyPrefix = prefix, KeyPrefix = "bench" });
                return new(Redis(), configuration, () => DeleteRedisKeysAsync(configuration, prefix + "*"), Redis);
            case "redis-cluster":
                var cluster = Setting("STATEKIT_REDIS_CLUSTER");
                var clusterPrefix = $"statekit-bench-{run}";
                RedisStateStore OnCluster() => new(new RedisStateStoreOptions { Configuration = cluster, RedisKeyPrefix = clusterPrefix, KeyPrefix = "bench" });
                return new(OnCluster(), cluster, () => DeleteRedisKeysAsync(cluster, clusterPrefix + "*"), OnCluster);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Expected memory, file, sqlite, postgres, redis or redis-cluster.");
        }
    }

    /// <summary>Deletes every Redis key matching <paramref name="pattern"/> with SCAN, never KEYS.</summary>
    public static async Task DeleteRedisKeysAsync(string configuration, string pattern)
    {
        using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(configuration);
        var db = connection.GetDatabase();
        foreach (var server in connection.GetServers().Where(s => !s.IsReplica))
        {
            foreach (var key in server.Keys(pattern: pattern, pageSize: 1000))
            {
                await db.KeyDeleteAsync(key);
            }
        }
    }

    private static string Setting(string name) =>
        Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException($"Set {name} (benchmarks/run.sh starts the servers and sets it).");
}
