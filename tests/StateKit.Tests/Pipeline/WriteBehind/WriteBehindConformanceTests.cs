using NUnit.Framework;
using StateKit.Postgres;
using StateKit.Testing;

namespace StateKit.Tests.Resilience;

/// <summary>Write-behind keeps the store contract over the memory store (each store its own journal directory).</summary>
internal sealed class WriteBehindConformanceTests : StateStoreConformanceTests<WriteBehindStateStore>
{
    private readonly Dictionary<string, (WriteBehindStateStore Store, MemoryStateStore Inner)> _stores = new(StringComparer.Ordinal);
    private string _root = null!;

    [OneTimeSetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("statekit-wb-conformance-").FullName;

    [OneTimeTearDown]
    public void RemoveRoot() => Directory.Delete(_root, recursive: true);

    protected override ValueTask<WriteBehindStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var inner = new MemoryStateStore(options, timeProvider);
        var store = new WriteBehindStateStore(inner, new WriteBehindOptions { JournalDirectory = Path.Combine(_root, Guid.NewGuid().ToString("N")), SegmentBytes = 64 * 1024 }, options, timeProvider);
        _stores[options.KeyPrefix] = (store, inner);
        return new(store);
    }

    protected override async ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key)
    {
        if (!_stores.TryGetValue(keyPrefix, out var pair))
        {
            return false;
        }

        await pair.Store.FlushAsync();
        return pair.Inner.DamageValueForTest(key);
    }
}

/// <summary>Write-behind keeps the store contract over PostgreSQL.</summary>
internal sealed class WriteBehindPostgresConformanceTests : StateStoreConformanceTests<WriteBehindStateStore>
{
    private readonly string _schema = "sk_wb_" + Guid.NewGuid().ToString("N")[..10];
    private readonly Dictionary<string, WriteBehindStateStore> _stores = new(StringComparer.Ordinal);
    private string _root = null!;

    [OneTimeSetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("statekit-wb-conformance-").FullName;

    [OneTimeTearDown]
    public async Task RemoveAsync()
    {
        Directory.Delete(_root, recursive: true);
        await TestServers.DropSchemaAsync(_schema);
    }

    protected override ValueTask<WriteBehindStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var postgresOptions = new PostgresStateStoreOptions { ConnectionString = TestServers.Postgres, Schema = _schema };
        options.CopyTo(postgresOptions);
        var store = new WriteBehindStateStore(new PostgresStateStore(postgresOptions, timeProvider), new WriteBehindOptions { JournalDirectory = Path.Combine(_root, Guid.NewGuid().ToString("N")), SegmentBytes = 64 * 1024 }, options, timeProvider);
        _stores[options.KeyPrefix] = store;
        return new(store);
    }

    protected override async ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key)
    {
        if (!_stores.TryGetValue(keyPrefix, out var store))
        {
            return false;
        }

        await store.FlushAsync();
        return await Postgres.PostgresStateStoreConformanceTests.DamageAsync(_schema, keyPrefix, key);
    }
}
