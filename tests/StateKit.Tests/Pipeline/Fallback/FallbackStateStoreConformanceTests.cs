using NUnit.Framework;
using StateKit.File;
using StateKit.Redis;
using StateKit.Postgres;
using StateKit.Sqlite;
using StateKit.Testing;

namespace StateKit.Tests.Resilience;

/// <summary>The fallback chain keeps the store contract with a healthy primary (every write copied to the fallback): memory → memory.</summary>
internal sealed class FallbackStateStoreConformanceTests : StateStoreConformanceTests<FallbackStateStore>
{
    private readonly Dictionary<string, MemoryStateStore> _primaries = new(StringComparer.Ordinal);

    protected override ValueTask<FallbackStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var primary = new MemoryStateStore(options, timeProvider);
        _primaries[options.KeyPrefix] = primary;
        return new(new FallbackStateStore([primary, new MemoryStateStore(options, timeProvider)], timeProvider: timeProvider));
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) =>
        new(_primaries.TryGetValue(keyPrefix, out var store) && store.DamageValueForTest(key));
}

/// <summary>
/// The contract during an outage: the primary is down for the whole run, so everything is served by the fallback, and
/// every write is journaled there first.
/// </summary>
internal sealed class FallbackDuringOutageConformanceTests : StateStoreConformanceTests<FallbackStateStore>
{
    private readonly Dictionary<string, MemoryStateStore> _fallbacks = new(StringComparer.Ordinal);

    protected override ValueTask<FallbackStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var fallback = new MemoryStateStore(options, timeProvider);
        _fallbacks[options.KeyPrefix] = fallback;
        var primary = new SwitchableStore(new MemoryStateStore(options, timeProvider)) { Down = true };
        return new(new FallbackStateStore([primary, fallback], timeProvider: timeProvider));
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) =>
        new(_fallbacks.TryGetValue(keyPrefix, out var store) && store.DamageValueForTest(key));
}

/// <summary>The contract on real servers: Redis backed up by a SQLite file.</summary>
internal sealed class FallbackRedisSqliteConformanceTests : StateStoreConformanceTests<FallbackStateStore>
{
    private readonly string _redisPrefix = "sktest-fb-" + Guid.NewGuid().ToString("N")[..10];
    private string _root = null!;

    [OneTimeSetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("statekit-fallback-").FullName;

    [OneTimeTearDown]
    public void RemoveRoot()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    protected override ValueTask<FallbackStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var redisOptions = new RedisStateStoreOptions { Configuration = TestServers.Redis, RedisKeyPrefix = _redisPrefix };
        options.CopyTo(redisOptions);
        var sqliteOptions = new SqliteStateStoreOptions { ConnectionString = Path.Combine(_root, "fallback.db") };
        options.CopyTo(sqliteOptions);
        return new(new FallbackStateStore([new RedisStateStore(redisOptions, timeProvider), new SqliteStateStore(sqliteOptions, timeProvider)], timeProvider: timeProvider));
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) => Redis.RedisStateStoreConformanceTests.DamageAsync(_redisPrefix, keyPrefix, key);
}

/// <summary>The contract on real servers: PostgreSQL backed up by a file directory.</summary>
internal sealed class FallbackPostgresFileConformanceTests : StateStoreConformanceTests<FallbackStateStore>
{
    private readonly string _schema = "sk_fb_" + Guid.NewGuid().ToString("N")[..10];
    private string _root = null!;

    [OneTimeSetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("statekit-fallback-").FullName;

    [OneTimeTearDown]
    public async Task RemoveAsync()
    {
        Directory.Delete(_root, recursive: true);
        await TestServers.DropSchemaAsync(_schema);
    }

    protected override ValueTask<FallbackStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var postgresOptions = new PostgresStateStoreOptions { ConnectionString = TestServers.Postgres, Schema = _schema };
        options.CopyTo(postgresOptions);
        var fileOptions = new FileStateStoreOptions { RootPath = _root };
        options.CopyTo(fileOptions);
        return new(new FallbackStateStore([new PostgresStateStore(postgresOptions, timeProvider), new FileStateStore(fileOptions, timeProvider)], timeProvider: timeProvider));
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) => Postgres.PostgresStateStoreConformanceTests.DamageAsync(_schema, keyPrefix, key);
}
