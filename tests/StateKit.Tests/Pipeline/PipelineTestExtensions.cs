using StateKit.Internal;

namespace StateKit.Tests.Pipeline;

/// <summary>Looks through the telemetry layer that <c>AddStateKit()</c> puts outermost, for tests about what is under it.</summary>
internal static class PipelineTestExtensions
{
    /// <summary>The store under the telemetry layer (the store itself when there is none).</summary>
    /// <param name="store">The resolved store.</param>
    /// <returns>The store the application's pipeline built.</returns>
    public static IStateStore Unwrapped(this IStateStore store) => store is InstrumentedStateStore instrumented ? instrumented.Inner : store;
}
