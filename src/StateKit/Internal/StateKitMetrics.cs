using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace StateKit.Internal;

/// <summary>
/// StateKit's instruments in one container: the meter comes from the container's <see cref="IMeterFactory"/> when it has
/// one (so tests and hosts see only their own measurements), otherwise it is created and owned here. Retries are counted
/// on a process-wide meter of the same name, because adapters report them without a container.
/// </summary>
internal sealed class StateKitMetrics : IDisposable
{
    private static readonly string? Version = typeof(StateKitMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
    private static readonly Meter ProcessMeter = new(StateKitTelemetry.MeterName, Version);
    private static readonly Counter<long> RetryCounter = ProcessMeter.CreateCounter<long>(StateKitTelemetry.Retries, "{retry}", "Store attempts retried after a transient failure.");
    private static readonly Counter<long> SpillCounter = ProcessMeter.CreateCounter<long>(StateKitTelemetry.Spills, "{entry}", "Entries a memory budget moved to spill files.");
    private static readonly Counter<long> RestoreCounter = ProcessMeter.CreateCounter<long>(StateKitTelemetry.Restores, "{entry}", "Entries brought back from spill files.");
    private static readonly Counter<long> FallbackSwitchCounter = ProcessMeter.CreateCounter<long>(StateKitTelemetry.FallbackSwitches, "{switch}", "Switches of a fallback chain, tagged by the index it switched to (0: back to the primary).");
    private static readonly Counter<long> FallbackReplayCounter = ProcessMeter.CreateCounter<long>(StateKitTelemetry.FallbackReplayed, "{key}", "Keys replayed from a fallback onto the primary.");
    private static readonly Counter<long> FallbackConflictCounter = ProcessMeter.CreateCounter<long>(StateKitTelemetry.FallbackConflicts, "{key}", "Keys that changed on both sides of an outage.");
    private static readonly Histogram<double> FlushLag = ProcessMeter.CreateHistogram<double>(StateKitTelemetry.WriteBehindFlushLag, "s", "Time from a write-behind acknowledgement to its flush to the store.");
    private static readonly Counter<long> WriteBehindConflictCounter = ProcessMeter.CreateCounter<long>(StateKitTelemetry.WriteBehindConflicts, "{key}", "Write-behind flushes that found the store ahead (another writer).");
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<object, Func<long>> ResidentSources = new();
    private static readonly ObservableGauge<long> ResidentGauge = ProcessMeter.CreateObservableGauge(
        StateKitTelemetry.ResidentBytes, () => ResidentSources.Values.Select(f => new Measurement<long>(f())), "By", "Bytes the entries of a memory budget count toward it.");

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly List<(string Name, Func<SessionStats> Stats)> _sessions = [];

    public StateKitMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(StateKitTelemetry.MeterName, Version) ?? new Meter(StateKitTelemetry.MeterName, Version);
        OperationDuration = _meter.CreateHistogram<double>(
            StateKitTelemetry.OperationDuration,
            "s",
            "Duration of store operations, as the application sees them (every decorator included).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _meter.CreateObservableUpDownCounter(StateKitTelemetry.SessionsActive, () => Observe(s => s.Active), "{session}", "Live sessions this instance knows.");
        _meter.CreateObservableCounter(StateKitTelemetry.SessionsCreated, () => Observe(s => s.Created), "{session}", "Sessions created by this instance.");
        _meter.CreateObservableCounter(StateKitTelemetry.SessionsExpired, () => Observe(s => s.Expired), "{session}", "Sessions this instance found expired.");
        _meter.CreateObservableCounter(StateKitTelemetry.SessionsEvicted, () => Observe(s => s.Evicted), "{session}", "Sessions evicted by the session limit.");
        _meter.CreateObservableCounter(StateKitTelemetry.SessionsDeleted, () => Observe(s => s.Deleted), "{session}", "Sessions deleted by this instance.");
    }

    /// <summary>Gets the spans' source: <c>StateKit</c>.</summary>
    public static ActivitySource ActivitySource { get; } = new(StateKitTelemetry.ActivitySourceName, Version);

    /// <summary>Gets the operation duration histogram.</summary>
    public Histogram<double> OperationDuration { get; }

    /// <summary>Counts one retried attempt.</summary>
    /// <param name="store">The store's name.</param>
    /// <param name="operation">The operation.</param>
    public static void RecordRetry(string store, string operation)
    {
        if (RetryCounter.Enabled)
        {
            RetryCounter.Add(1, new KeyValuePair<string, object?>("db.system.name", SystemName(store)), new KeyValuePair<string, object?>("db.operation.name", operation));
        }
    }

    /// <summary>The <c>db.system.name</c> of a store: OpenTelemetry's well-known name where one exists.</summary>
    /// <param name="store">The store's <see cref="IStateStore.Name"/>.</param>
    /// <returns>The attribute value.</returns>
    public static string SystemName(string store) => store == "postgres" ? "postgresql" : store;

    /// <summary>Counts a fallback chain's switch.</summary>
    public static void RecordFallbackSwitch(int to) => FallbackSwitchCounter.Add(1, new KeyValuePair<string, object?>("statekit.fallback.index", to));

    /// <summary>Counts a key replayed onto the primary.</summary>
    public static void RecordFallbackReplay() => FallbackReplayCounter.Add(1);

    /// <summary>Counts a conflict found by replay.</summary>
    public static void RecordFallbackConflict() => FallbackConflictCounter.Add(1);

    /// <summary>Records a write-behind flush's lag.</summary>
    public static void RecordWriteBehindFlush(TimeSpan lag) => FlushLag.Record(lag.TotalSeconds);

    /// <summary>Counts a write-behind conflict.</summary>
    public static void RecordWriteBehindConflict() => WriteBehindConflictCounter.Add(1);

    /// <summary>Counts one entry moved to a spill file.</summary>
    public static void RecordSpill() => SpillCounter.Add(1);

    /// <summary>Counts one entry brought back from a spill file.</summary>
    public static void RecordRestore() => RestoreCounter.Add(1);

    /// <summary>Reports a memory budget's resident bytes until <see cref="UntrackResident"/>.</summary>
    /// <param name="owner">The store.</param>
    /// <param name="bytes">Reads its resident bytes.</param>
    public static void TrackResident(object owner, Func<long> bytes)
    {
        _ = ResidentGauge;
        ResidentSources[owner] = bytes;
    }

    /// <summary>Stops reporting a store's resident bytes.</summary>
    /// <param name="owner">The store.</param>
    public static void UntrackResident(object owner) => ResidentSources.TryRemove(owner, out _);

    /// <summary>Reports a session manager's counters through the session instruments.</summary>
    /// <param name="name">The session name.</param>
    /// <param name="stats">Reads its counters.</param>
    public void TrackSessions(string name, Func<SessionStats> stats)
    {
        lock (_sessions)
        {
            _sessions.Add((name, stats));
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private List<Measurement<long>> Observe(Func<SessionStats, long> value)
    {
        lock (_sessions)
        {
            return _sessions.ConvertAll(s => new Measurement<long>(value(s.Stats()), new KeyValuePair<string, object?>(StateKitTelemetry.SessionNameTag, s.Name)));
        }
    }
}
