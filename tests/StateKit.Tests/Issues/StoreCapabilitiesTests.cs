using NUnit.Framework;

namespace StateKit.Tests.Issues;

/// <summary>Each store declares whether its batches are atomic, as the store contract documents.</summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class StoreCapabilitiesTests(string kind) : StoreFixture(kind)
{
    private readonly string _kind = kind;

    [Test]
    public void GetCapabilities_DeclaresAtomicBatchesExactlyWhereTheContractSaysSo()
    {
        var expected = _kind == "file" ? StateStoreCapabilities.None : StateStoreCapabilities.AtomicBatches;
        Assert.That(Store.GetCapabilities(), Is.EqualTo(expected));
        Assert.That(new Provider.DelegatingStore(Store).GetCapabilities(), Is.EqualTo(expected), "a pass-through declares what it wraps");
        Assert.That(new Provider.OpaqueStore(Store).GetCapabilities(), Is.EqualTo(StateStoreCapabilities.None), "a store that declares nothing has no capabilities");
    }

    [Test]
    public void EveryBuiltInStore_ProvidesVersionPreservingWrites()
    {
        // The conformance cases of this capability are inconclusive for a store without it; ours must all have it.
        Assert.That(Store.GetService<IVersionPreservingStateStore>(), Is.SameAs(Store));
    }
}
