using NUnit.Framework;
using StateKit.Testing;

namespace StateKit.Tests.Hybrid;

/// <summary>
/// The conformance suite against <see cref="L1StateStore"/> over the memory store, whose change feed it subscribes to.
/// (Over the file, SQLite, PostgreSQL and Redis stores it runs as their <c>StorePipeline.L1</c> fixtures.)
/// </summary>
internal sealed class L1StateStoreConformanceTests : StateStoreConformanceTests<L1StateStore>
{
    private readonly Dictionary<string, MemoryStateStore> _stores = new(StringComparer.Ordinal);

    protected override ValueTask<L1StateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var store = new MemoryStateStore(options, timeProvider);
        _stores[options.KeyPrefix] = store;
        return new(new L1StateStore(store, new L1StateStoreOptions(), timeProvider));
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) =>
        new(_stores.TryGetValue(keyPrefix, out var store) && store.DamageValueForTest(key));
}
