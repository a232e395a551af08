using Npgsql;
using StateKit.File;
using StateKit.Postgres;
using StateKit.Redis;
using StateKit.Sqlite;

namespace StateKit.Tests;

/// <summary>Creates a fresh store of each kind for tests that run the same behaviour on every backend.</summary>
internal static class TestStores
{
    /// <summary>Every store kind: the five stores, and the Redis store on a Redis Cluster (its hash-slot layout).</summary>
    public static readonly string[] Kinds = ["memory", "file", "sqlite", "postgres", "redis", "redis-cluster"];

    /// <summary>Creates an empty store of <paramref name="kind"/>; <paramref name="cleanup"/> removes its data afterwards.</summary>
    public static IStateStore Create(string kind, TimeProvider time, out Func<Task> cleanup, Action<StateStoreOptions>? configure = null) =>
        Factory(kind, time, out cleanup, configure)();

    /// <summary>
    /// Two store instances of <paramref name="kind"/> on the same backend and namespace, as two app instances would have
    /// (for the memory store, which has no shared backend, one store wrapped twice).
    /// </summary>
    public static (IStateStore First, IStateStore Second) CreateTwins(string kind, TimeProvider time, out Func<Task> cleanup)
    {
        var create = Factory(kind, time, out cleanup, null);
        var first = create();
        return (first, kind == "memory" ? new Provider.NonDisposingStore(first) : create());
    }

    /// <summary>Runs <paramref name="test"/> on twins of <paramref name="kind"/> (<see cref="CreateTwins"/>), disposing them and removing their data afterwards, failure included.</summary>
    public static async Task WithTwinsAsync(string kind, TimeProvider time, Func<IStateStore, IStateStore, Task> test)
    {
        var (first, second) = CreateTwins(kind, time, out var cleanup);
        try
        {
            await test(first, second);
        }
        finally
        {
            await first.DisposeAsync();
            await second.DisposeAsync();
            await cleanup();
        }
    }

    private static Func<IStateStore> Factory(string kind, TimeProvider time, out Func<Task> cleanup, Action<StateStoreOptions>? configure)
    {
        T With<T>(T options)
            where T : StateStoreOptions
        {
            configure?.Invoke(options);
            return options;
        }

        var prefix = "p" + Guid.NewGuid().ToString("N")[..10];
        switch (kind)
        {
            case "memory":
                cleanup = () => Task.CompletedTask;
                return () => new MemoryStateStore(With(new StateStoreOptions { KeyPrefix = prefix }), time);
            case "file":
            {
                var root = Directory.CreateTempSubdirectory("statekit-provider-").FullName;
                cleanup = () =>
                {
                    Directory.Delete(root, recursive: true);
                    return Task.CompletedTask;
                };
                return () => new FileStateStore(With(new FileStateStoreOptions { RootPath = root, KeyPrefix = prefix }), time);
            }

            case "sqlite":
            {
                var root = Directory.CreateTempSubdirectory("statekit-provider-").FullName;
                cleanup = () =>
                {
                    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                    Directory.Delete(root, recursive: true);
                    return Task.CompletedTask;
                };
                return () => new SqliteStateStore(With(new SqliteStateStoreOptions { ConnectionString = Path.Combine(root, "state.db"), KeyPrefix = prefix }), time);
            }

            case "postgres":
            {
                var connectionString = TestServers.Postgres;
                var schema = "sk_prov_" + Guid.NewGuid().ToString("N")[..10];
                cleanup = async () =>
                {
                    await using var dataSource = NpgsqlDataSource.Create(connectionString);
                    await using var cmd = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                    await cmd.ExecuteNonQueryAsync();
                };
                return () => new PostgresStateStore(With(new PostgresStateStoreOptions { ConnectionString = connectionString, Schema = schema, KeyPrefix = prefix }), time);
            }

            case "redis":
                cleanup = () => Task.CompletedTask;
                return () => new RedisStateStore(With(new RedisStateStoreOptions { Configuration = TestServers.Redis, RedisKeyPrefix = "sktest-provider", KeyPrefix = prefix }), time);
            case "redis-cluster":
            {
                var redisPrefix = "sktest-cluster-" + prefix;
                cleanup = () => TestServers.DeleteRedisKeysAsync(redisPrefix, cluster: true);
                return () => new RedisStateStore(With(new RedisStateStoreOptions { Configuration = TestServers.RedisCluster, RedisKeyPrefix = redisPrefix, KeyPrefix = prefix }), time);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown store kind");
        }
    }
}
