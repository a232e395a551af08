using StateKit.Internal;

namespace StateKit;

/// <content>The telemetry stage: <c>UseTelemetry</c>.</content>
public static partial class StateStorePipelineBuilderExtensions
{
    /// <summary>
    /// Puts telemetry at <see cref="StateStoreStage.Telemetry"/>: the <c>statekit.operation.duration</c> histogram and an
    /// activity per call, on the process-wide <c>StateKit</c> meter and activity source (<see cref="StateKitTelemetry"/>),
    /// where the layers of a pipeline built without a container also report.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static StateStorePipelineBuilder UseTelemetry(this StateStorePipelineBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use(StateStoreStage.Telemetry, "telemetry", (inner, _) => new InstrumentedStateStore(inner, StateKitMetrics.Process));
    }
}
