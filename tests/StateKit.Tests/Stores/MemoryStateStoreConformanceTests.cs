using StateKit.Testing;

namespace StateKit.Tests.Stores;

/// <summary>The conformance suite against <see cref="MemoryStateStore"/>.</summary>
public sealed class MemoryStateStoreConformanceTests : StateStoreConformanceTests<MemoryStateStore>
{
    private readonly Dictionary<string, MemoryStateStore> _stores = new(StringComparer.Ordinal);

    protected override ValueTask<MemoryStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var store = new MemoryStateStore(options, timeProvider);
        _stores[options.KeyPrefix] = store;
        return new(store);
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) =>
        new(_stores.TryGetValue(keyPrefix, out var store) && store.DamageValueForTest(key));
}
