using NUnit.Framework;
using StateKit.Testing;
using StateKit.Tests.Testing;

namespace StateKit.Tests.Stores;

/// <summary>The conformance suite, bare and through a pass-through decorator (behind the L1 tier: L1StateStoreConformanceTests), against <see cref="MemoryStateStore"/>.</summary>
[TestFixture(StorePipeline.Bare)]
[TestFixture(StorePipeline.PassThrough)]
public sealed class MemoryStateStoreConformanceTests(StorePipeline pipeline) : StateStoreConformanceTests<MemoryStateStore>
{
    protected override IStateStore Decorate(MemoryStateStore store) => pipeline.Wrap(store, Time);

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
