using StateKit.Testing;

namespace StateKit.Tests.Pipeline.Encryption;

/// <summary>
/// The conformance suite against the encryption layer over the memory store (over every other store, combined with the
/// other layers, it runs in <c>PipelineCombinationConformanceTests</c>). The backend's value limit is raised by the
/// encryption overhead, as the README tells users to, so the limit callers see is the suite's.
/// </summary>
internal sealed class EncryptingStateStoreConformanceTests : StateStoreConformanceTests<EncryptingStateStore>
{
    private readonly Dictionary<string, MemoryStateStore> _stores = new(StringComparer.Ordinal);
    private readonly StateEncryptionKeyRing _ring = TestKeys.Ring(TestKeys.New(ConformanceKeyId).Key);

    /// <summary>The key id the conformance fixtures encrypt with.</summary>
    internal const string ConformanceKeyId = "conformance-key";

    /// <summary>What encryption with <see cref="ConformanceKeyId"/> adds to every value.</summary>
    internal const int Overhead = 31 + 15;

    protected override ValueTask<EncryptingStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var backendOptions = new StateStoreOptions();
        options.CopyTo(backendOptions);
        backendOptions.MaxValueBytes = options.MaxValueBytes + Overhead;
        var store = new MemoryStateStore(backendOptions, timeProvider);
        _stores[options.KeyPrefix] = store;
        var pipeline = new StateStorePipelineBuilder(store).UseEncryption(o => o.KeyRing = _ring).Build();
        return new((EncryptingStateStore)pipeline);
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) =>
        new(_stores.TryGetValue(keyPrefix, out var store) && store.DamageValueForTest(key));
}
