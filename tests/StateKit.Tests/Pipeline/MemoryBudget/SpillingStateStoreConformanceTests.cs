using NUnit.Framework;
using StateKit.Testing;

namespace StateKit.Tests.Resilience;

/// <summary>
/// The memory store under a 1 KB budget (about ten small entries): most entries the suite writes are moved to spill
/// records and brought back. With <c>spillEverything</c>, every entry is spilled after every write, so each read, write,
/// delete and touch starts from a spill record.
/// </summary>
[TestFixture(false)]
[TestFixture(true)]
internal sealed class SpillingStateStoreConformanceTests(bool spillEverything) : StateStoreConformanceTests<SpillingStateStore>
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
            SpillEverythingForTest = spillEverything,
        };
        _stores[options.KeyPrefix] = store;
        return new(store);
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) =>
        new(_stores.TryGetValue(keyPrefix, out var store) && (store.DamageSpillForTest(key) || store.DamageResidentForTest(key)));
}
