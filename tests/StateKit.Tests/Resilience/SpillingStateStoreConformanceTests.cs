using NUnit.Framework;
using StateKit.Testing;

namespace StateKit.Tests.Resilience;

/// <summary>
/// The memory store under a 1 KB budget (about ten small entries): nearly every entry the suite writes is moved to a
/// spill file and brought back, so the whole contract runs through the round trip.
/// </summary>
public sealed class SpillingStateStoreConformanceTests : StateStoreConformanceTests<SpillingStateStore>
{
    private readonly Dictionary<string, SpillingStateStore> _stores = new(StringComparer.Ordinal);
    private string _root = null!;

    [OneTimeSetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("statekit-spill-conformance-").FullName;

    [OneTimeTearDown]
    public void RemoveRoot() => Directory.Delete(_root, recursive: true);

    protected override ValueTask<SpillingStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var memory = new MemoryStateStore(options, timeProvider);
        var store = new SpillingStateStore(memory, new MemoryBudgetOptions { MaxResidentBytes = 1024, SpillDirectory = _root }, timeProvider);
        _stores[options.KeyPrefix] = store;
        return new(store);
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) =>
        new(_stores.TryGetValue(keyPrefix, out var store) && (store.DamageSpillForTest(key) || store.DamageResidentForTest(key)));
}

/// <summary>The same contract with every entry spilled after every write: each read, write, delete and touch starts from a spill file.</summary>
public sealed class AlwaysSpilledStateStoreConformanceTests : StateStoreConformanceTests<SpillingStateStore>
{
    private readonly Dictionary<string, SpillingStateStore> _stores = new(StringComparer.Ordinal);
    private string _root = null!;

    [OneTimeSetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("statekit-spill-conformance-").FullName;

    [OneTimeTearDown]
    public void RemoveRoot() => Directory.Delete(_root, recursive: true);

    protected override ValueTask<SpillingStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var store = new SpillingStateStore(new MemoryStateStore(options, timeProvider), new MemoryBudgetOptions { MaxResidentBytes = 1024, SpillDirectory = _root }, timeProvider)
        {
            SpillEverythingForTest = true,
        };
        _stores[options.KeyPrefix] = store;
        return new(store);
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) =>
        new(_stores.TryGetValue(keyPrefix, out var store) && (store.DamageSpillForTest(key) || store.DamageResidentForTest(key)));
}
