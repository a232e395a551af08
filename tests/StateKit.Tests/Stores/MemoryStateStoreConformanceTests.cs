using StateKit.Testing;

namespace StateKit.Tests.Stores;

/// <summary>The conformance suite against <see cref="MemoryStateStore"/>.</summary>
public sealed class MemoryStateStoreConformanceTests : StateStoreConformanceTests<MemoryStateStore>
{
    protected override ValueTask<MemoryStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider) =>
        new(new MemoryStateStore(options, timeProvider));
}
