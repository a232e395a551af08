using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace StateKit.Internal;

/// <summary>
/// StateKit's instruments, all on one meter: the one a container's pipelines report to comes from its
/// <see cref="IMeterFactory"/> when it has one (so tests and hosts see only their own measurements), otherwise it is
/// created and owned here. Every layer and adapter of a pipeline built by <c>AddStateKit</c> reports to its container's
/// instance (<see cref="StateStoreMetrics.Bind"/>), or to <see cref="Off"/> with <c>StateKit:Telemetry</c> false; stores
/// built by hand report to <see cref="Process"/>.
/// </summary>
internal sealed class StateKitMetrics : IDisposable
{
    private static readonly string? Version = typeof(StateKitMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;

    private readonly Meter? _meter;
    private readonly bool _ownsMeter;
    private readonly List<(string Name, Func<SessionStats> Stats)> _sessions = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<object, Func<long>> _resident = new();
    private readonly Counter<long>? _retries;
    private readonly Counter<long>? _spills;
    private readonly Counter<long>? _restores;
    private readonly Counter<long>? _fallbackSwitches;
    private readonly Counter<long>? _fallbackReplayed;
    private readonly Counter<long>? _fallbackConflicts;
    private readonly Histogram<double>? _flushLag;
    private readonly Counter<long>? _writeBehindConflicts;
    private readonly Counter<long>? _versionRegressions;

    public StateKitMetrics(IMeterFactory? meterFactory)
        : this(meterFactory, enabled: true)
    {
    }

    private StateKitMetrics(IMeterFactory? meterFactory, bool enabled)
    {
        if (!enabled)
        {
            OperationDuration = new Meter(StateKitTelemetry.MeterName + ".Off").CreateHistogram<double>(StateKitTelemetry.OperationDuration);
            return;
        }

        _ownsMeter = meterFactory is null;
        var meter = meterFactory?.Create(StateKitTelemetry.MeterName, Version) ?? new Meter(StateKitTelemetry.MeterName, Version);
        _meter = meter;
        OperationDuration = meter.CreateHistogram<double>(
            StateKitTelemetry.OperationDuration,
            "s",
            "Duration of store operations, as the application sees them (every decorator included).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        meter.CreateObservableUpDownCounter(StateKitTelemetry.SessionsActive, () => Observe(s => s.Active), "{session}", "Live sessions this instance knows.");
        meter.CreateObservableCounter(StateKitTelemetry.SessionsCreated, () => Observe(s => s.Created), "{session}", "Sessions created by this instance.");
        meter.CreateObservableCounter(StateKitTelemetry.SessionsExpired, () => Observe(s => s.Expired), "{session}", "Sessions this instance found expired.");
        meter.CreateObservableCounter(StateKitTelemetry.SessionsEvicted, () => Observe(s => s.Evicted), "{session}", "Sessions evicted by the session limit.");
        meter.CreateObservableCounter(StateKitTelemetry.SessionsDeleted, () => Observe(s => s.Deleted), "{session}", "Sessions deleted by this instance.");
        _retries = meter.CreateCounter<long>(StateKitTelemetry.Retries, "{retry}", "Store attempts retried after a transient failure.");
        _spills = meter.CreateCounter<long>(StateKitTelemetry.Spills, "{entry}", "Entries a memory budget moved to spill files.");
        _restores = meter.CreateCounter<long>(StateKitTelemetry.Restores, "{entry}", "Entries brought back from spill files.");
        _fallbackSwitches = meter.CreateCounter<long>(StateKitTelemetry.FallbackSwitches, "{switch}", "Switches of a fallback chain, tagged by the index it switched to (0: back to the primary).");
        _fallbackReplayed = meter.CreateCounter<long>(StateKitTelemetry.FallbackReplayed, "{key}", "Keys replayed from a fallback onto the primary.");
        _fallbackConflicts = meter.CreateCounter<long>(StateKitTelemetry.FallbackConflicts, "{key}", "Keys that changed on both sides of an outage.");
        _flushLag = meter.CreateHistogram<double>(StateKitTelemetry.WriteBehindFlushLag, "s", "Time from a write-behind acknowledgement to its flush to the store.");
        _versionRegressions = meter.CreateCounter<long>(StateKitTelemetry.VersionRegressions, "{event}", "Times a store found its data gone back in time (acknowledged writes lost, e.g. in a failover), tagged by store.");
        _writeBehindConflicts = meter.CreateCounter<long>(StateKitTelemetry.WriteBehindConflicts, "{key}", "Write-behind flushes that found the store ahead (another writer).");
        meter.CreateObservableGauge(StateKitTelemetry.ResidentBytes, () => _resident.Values.Select(f => new Measurement<long>(f())), "By", "Bytes the entries of a memory budget count toward it.");
    }

    /// <summary>Gets the instruments of stores built without a container (one process-wide meter).</summary>
    public static StateKitMetrics Process { get; } = new(null);

    /// <summary>Gets instruments that record nothing: a pipeline with <c>StateKit:Telemetry</c> false.</summary>
    public static StateKitMetrics Off { get; } = new(null, enabled: false);

    /// <summary>Gets the spans' source: <c>StateKit</c>.</summary>
    public static ActivitySource ActivitySource { get; } = new(StateKitTelemetry.ActivitySourceName, Version);

    /// <summary>Gets the operation duration histogram.</summary>
    public Histogram<double> OperationDuration { get; }

    /// <summary>The <c>db.system.name</c> of a store: OpenTelemetry's well-known name where one exists.</summary>
    /// <param name="store">The store's <see cref="IStateStore.Name"/>.</param>
    /// <returns>The attribute value.</returns>
    public static string SystemName(string store) => store == "postgres" ? "postgresql" : store;

    /// <summary>Counts one retried attempt.</summary>
    /// <param name="store">The store's name.</param>
    /// <param name="operation">The operation.</param>
    public void RecordRetry(string store, string operation)
    {
        if (_retries is { Enabled: true })
        {
            _retries.Add(1, new KeyValuePair<string, object?>("db.system.name", SystemName(store)), new KeyValuePair<string, object?>("db.operation.name", operation));
        }
    }

    /// <summary>Counts a fallback chain's switch.</summary>
    public void RecordFallbackSwitch(int to) => _fallbackSwitches?.Add(1, new KeyValuePair<string, object?>("statekit.fallback.index", to));

    /// <summary>Counts a key replayed onto the primary.</summary>
    public void RecordFallbackReplay() => _fallbackReplayed?.Add(1);

    /// <summary>Counts a conflict found by replay.</summary>
    public void RecordFallbackConflict() => _fallbackConflicts?.Add(1);

    /// <summary>Records a write-behind flush's lag.</summary>
    public void RecordWriteBehindFlush(TimeSpan lag) => _flushLag?.Record(lag.TotalSeconds);

    /// <summary>Counts a write-behind conflict.</summary>
    public void RecordWriteBehindConflict() => _writeBehindConflicts?.Add(1);

    /// <summary>Counts a store finding its data gone back in time (<see cref="StateVersionRegressedException"/>).</summary>
    /// <param name="store">The store name.</param>
    public void RecordVersionRegression(string store) => _versionRegressions?.Add(1, new KeyValuePair<string, object?>("db.system.name", SystemName(store)));

    /// <summary>Counts one entry moved to a spill file.</summary>
    public void RecordSpill() => _spills?.Add(1);

    /// <summary>Counts one entry brought back from a spill file.</summary>
    public void RecordRestore() => _restores?.Add(1);

    /// <summary>Reports a memory budget's resident bytes until <see cref="UntrackResident"/>.</summary>
    /// <param name="owner">The store.</param>
    /// <param name="bytes">Reads its resident bytes.</param>
    public void TrackResident(object owner, Func<long> bytes)
    {
        if (_meter is not null)
        {
            _resident[owner] = bytes;
        }
    }

    /// <summary>Stops reporting a store's resident bytes.</summary>
    /// <param name="owner">The store.</param>
    public void UntrackResident(object owner) => _resident.TryRemove(owner, out _);

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
        if (_ownsMeter && this != Process)
        {
            _meter?.Dispose();
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
