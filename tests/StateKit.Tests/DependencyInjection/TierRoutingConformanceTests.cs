using StateKit.Internal;
using StateKit.Testing;

namespace StateKit.Tests.DependencyInjection;

/// <summary>
/// The tier router keeps the store contract: the suite's keys (no tier segment) stay on the default store while every
/// tier is routed to a second store, so listing, purging, the change feed and capabilities go through the router's merging.
/// </summary>
internal sealed class TierRoutingConformanceTests : StateStoreConformanceTests<TierRoutingStateStore>
{
    private readonly Dictionary<string, MemoryStateStore> _stores = new(StringComparer.Ordinal);

    protected override ValueTask<TierRoutingStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var store = new MemoryStateStore(options, timeProvider);
        var routed = new MemoryStateStore(options, timeProvider);
        _stores[options.KeyPrefix] = store;
        return new(TierRoutingStateStore.Create(store, Enum.GetValues<StateTier>().ToDictionary(t => t, IStateStore (_) => routed)));
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) =>
        new(_stores.TryGetValue(keyPrefix, out var store) && store.DamageValueForTest(key));
}
