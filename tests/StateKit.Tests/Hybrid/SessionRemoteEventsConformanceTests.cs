using NUnit.Framework;
using StateKit.Internal;
using StateKit.Testing;

namespace StateKit.Tests.Hybrid;

/// <summary>
/// The conformance suite through <see cref="SessionRemoteEvents"/>, the decorator a session manager with
/// <see cref="SessionOptions.CrossInstanceEvents"/> writes through: it must change nothing a caller sees.
/// </summary>
internal sealed class SessionRemoteEventsConformanceTests : StateStoreConformanceTests<SessionRemoteEvents>
{
    protected override ValueTask<SessionRemoteEvents> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider) =>
        new(new SessionRemoteEvents(new MemoryStateStore(options, timeProvider), "sessions/test/", (_, _) => { }));
}
