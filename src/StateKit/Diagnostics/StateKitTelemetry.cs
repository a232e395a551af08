namespace StateKit;

/// <summary>
/// The names of StateKit's metrics and traces: one <see cref="System.Diagnostics.Metrics.Meter"/> and one
/// <see cref="System.Diagnostics.ActivitySource"/>, both named <see cref="MeterName"/>. StateKit depends on no telemetry
/// package; with OpenTelemetry, <c>.AddMeter(StateKitTelemetry.MeterName)</c> and
/// <c>.AddSource(StateKitTelemetry.ActivitySourceName)</c> export them.
/// </summary>
/// <remarks>
/// Store operations are measured by the outermost layer of the store pipeline (on unless
/// <see cref="StateKitOptions.Telemetry"/> is off), so they include every decorator. Attributes follow OpenTelemetry's
/// database conventions: <c>db.system.name</c> (the store: <c>memory</c>, <c>file</c>, <c>sqlite</c>,
/// <c>postgresql</c>, <c>redis</c> or a third-party store's name), <c>db.operation.name</c> (<c>Get</c>, <c>SetMany</c>,
/// <c>ListAppend</c>, …), <c>error.type</c> on failure, plus <see cref="OutcomeTag"/>. Keys and values are never recorded.
/// </remarks>
public static class StateKitTelemetry
{
    /// <summary>The meter's name: <c>StateKit</c>.</summary>
    public const string MeterName = "StateKit";

    /// <summary>The activity source's name: <c>StateKit</c>. Every store operation is a client span named <c>{operation} {store}</c>.</summary>
    public const string ActivitySourceName = "StateKit";

    /// <summary>Histogram of store operation durations in seconds, tagged by store, operation and outcome.</summary>
    public const string OperationDuration = "statekit.store.operation.duration";

    /// <summary>Counter of retried store attempts (transient SQL failures), tagged by store and operation.</summary>
    public const string Retries = "statekit.store.retries";

    /// <summary>Up-down counter of the live sessions this instance knows, tagged by session name (<c>statekit.session.name</c>).</summary>
    public const string SessionsActive = "statekit.sessions.active";

    /// <summary>Counter of sessions created by this instance, tagged by session name.</summary>
    public const string SessionsCreated = "statekit.sessions.created";

    /// <summary>Counter of sessions this instance found expired, tagged by session name.</summary>
    public const string SessionsExpired = "statekit.sessions.expired";

    /// <summary>Counter of sessions this instance evicted to stay within the session limit, tagged by session name.</summary>
    public const string SessionsEvicted = "statekit.sessions.evicted";

    /// <summary>Counter of sessions this instance deleted, tagged by session name.</summary>
    public const string SessionsDeleted = "statekit.sessions.deleted";

    /// <summary>Counter of a fallback chain's switches (<see cref="IFallbackStatus"/>), tagged <c>statekit.fallback.index</c> (0: back to the primary).</summary>
    public const string FallbackSwitches = "statekit.fallback.switches";

    /// <summary>Counter of keys replayed from a fallback onto the primary.</summary>
    public const string FallbackReplayed = "statekit.fallback.replayed";

    /// <summary>Counter of keys that changed on the primary and on the fallback during an outage.</summary>
    public const string FallbackConflicts = "statekit.fallback.conflicts";

    /// <summary>Histogram of the time from a write-behind acknowledgement to its flush (<see cref="IWriteBehindStatus"/>).</summary>
    public const string WriteBehindFlushLag = "statekit.writebehind.flush_lag";

    /// <summary>Counter: times a store found its data gone back in time (acknowledged writes lost), tagged <c>db.system.name</c>.</summary>
    public const string VersionRegressions = "statekit.store.version_regressions";

    /// <summary>Counter of write-behind flushes that found the store ahead (another writer).</summary>
    public const string WriteBehindConflicts = "statekit.writebehind.conflicts";

    /// <summary>Counter of entries a memory budget (<see cref="IMemoryBudgetStatus"/>) moved to spill files.</summary>
    public const string Spills = "statekit.memory.spills";

    /// <summary>Counter of entries brought back from spill files.</summary>
    public const string Restores = "statekit.memory.restores";

    /// <summary>Gauge of the bytes the resident entries of a memory budget count toward it.</summary>
    public const string ResidentBytes = "statekit.memory.resident_bytes";

    /// <summary>
    /// The outcome attribute of <see cref="OperationDuration"/> and of spans: <c>ok</c>, <c>conflict</c> (a version check
    /// failed), <c>unavailable</c> (the backend could not be reached or did not answer), <c>corrupt</c> (stored data is
    /// damaged), <c>invalid</c> (a bad key, value or argument), <c>cancelled</c> or <c>error</c> (anything else).
    /// </summary>
    public const string OutcomeTag = "statekit.outcome";

    /// <summary>The session name attribute of the session instruments.</summary>
    public const string SessionNameTag = "statekit.session.name";
}
