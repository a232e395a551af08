using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace StateKit.Internal;

/// <summary>
/// The outermost layer of the store pipeline: times every operation into <see cref="StateKitTelemetry.OperationDuration"/>
/// and wraps it in a client span, both following OpenTelemetry's database conventions. When nothing listens it only
/// forwards (one check per call, no allocation).
/// </summary>
internal sealed class InstrumentedStateStore : DelegatingStateStore
{
    private static readonly string[] Operations =
    [
        "Get", "GetMany", "Set", "SetMany", "SetAtVersion", "SetManyAtVersion", "Delete", "Exists", "Touch", "ListKeys", "PurgeExpired",
        "ListAppend", "ListRange", "ListLength", "ListTrim", "ListDelete", "ListTouch",
    ];

    private readonly StateKitMetrics _metrics;
    private readonly string _system;
    private readonly Dictionary<string, string> _spanNames = new(StringComparer.Ordinal);

    public InstrumentedStateStore(IStateStore innerStore, StateKitMetrics metrics)
        : base(innerStore)
    {
        _metrics = metrics;
        _system = StateKitMetrics.SystemName(innerStore.Name);
        foreach (var operation in Operations)
        {
            _spanNames[operation] = operation + " " + _system;
        }
    }

    private bool Listening => _metrics.OperationDuration.Enabled || StateKitMetrics.ActivitySource.HasListeners();

    public override ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("Get", 1, key, static (s, k, c) => s.GetAsync(k, c), cancellationToken) : InnerStore.GetAsync(key, cancellationToken);

    public override ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("GetMany", keys?.Count ?? 0, keys!, static (s, k, c) => s.GetManyAsync(k, c), cancellationToken) : InnerStore.GetManyAsync(keys!, cancellationToken);

    public override ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("Set", 1, (key, value, options), static (s, a, c) => s.SetAsync(a.key, a.value, a.options, c), cancellationToken) : InnerStore.SetAsync(key, value, options, cancellationToken);

    public override ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("SetMany", writes?.Count ?? 0, writes!, static (s, w, c) => s.SetManyAsync(w, c), cancellationToken) : InnerStore.SetManyAsync(writes!, cancellationToken);

    public override ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
        Listening
            ? ObserveAsync("SetAtVersion", 1, (self: this, key, value, version, expiresAt), static (_, a, c) => a.self.BaseSetAtVersionAsync(a.key, a.value, a.version, a.expiresAt, c), cancellationToken)
            : base.SetAtVersionAsync(key, value, version, expiresAt, cancellationToken);

    public override ValueTask<IReadOnlyList<bool>> SetManyAtVersionAsync(IReadOnlyList<StateEntry> entries, CancellationToken cancellationToken = default) =>
        Listening
            ? ObserveAsync("SetManyAtVersion", entries?.Count ?? 0, (self: this, entries: entries!), static (_, a, c) => a.self.BaseSetManyAtVersionAsync(a.entries, c), cancellationToken)
            : base.SetManyAtVersionAsync(entries!, cancellationToken);

    public override ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("Delete", 1, (key, expectedVersion), static (s, a, c) => s.DeleteAsync(a.key, a.expectedVersion, c), cancellationToken) : InnerStore.DeleteAsync(key, expectedVersion, cancellationToken);

    public override ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("Exists", 1, key, static (s, k, c) => s.ExistsAsync(k, c), cancellationToken) : InnerStore.ExistsAsync(key, cancellationToken);

    public override ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("Touch", 1, (key, timeToLive), static (s, a, c) => s.TouchAsync(a.key, a.timeToLive, c), cancellationToken) : InnerStore.TouchAsync(key, timeToLive, cancellationToken);

    public override IAsyncEnumerable<string> ListKeysAsync(string prefix = "", CancellationToken cancellationToken = default) =>
        Listening ? ObserveKeysAsync(prefix, cancellationToken) : InnerStore.ListKeysAsync(prefix, cancellationToken);

    public override ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("PurgeExpired", 1, 0, static (s, _, c) => s.PurgeExpiredAsync(c), cancellationToken) : InnerStore.PurgeExpiredAsync(cancellationToken);

    public override ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) =>
        Listening
            ? ObserveAsync("ListAppend", items?.Count ?? 0, (key, items, timeToLive), static (s, a, c) => s.ListAppendAsync(a.key, a.items!, a.timeToLive, c), cancellationToken)
            : InnerStore.ListAppendAsync(key, items!, timeToLive, cancellationToken);

    public override ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("ListRange", 1, (key, start, stop), static (s, a, c) => s.ListRangeAsync(a.key, a.start, a.stop, c), cancellationToken) : InnerStore.ListRangeAsync(key, start, stop, cancellationToken);

    public override ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("ListLength", 1, key, static (s, k, c) => s.ListLengthAsync(k, c), cancellationToken) : InnerStore.ListLengthAsync(key, cancellationToken);

    public override ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("ListTrim", 1, (key, start, stop), static (s, a, c) => s.ListTrimAsync(a.key, a.start, a.stop, c), cancellationToken) : InnerStore.ListTrimAsync(key, start, stop, cancellationToken);

    public override ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("ListDelete", 1, key, static (s, k, c) => s.ListDeleteAsync(k, c), cancellationToken) : InnerStore.ListDeleteAsync(key, cancellationToken);

    public override ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        Listening ? ObserveAsync("ListTouch", 1, (key, timeToLive), static (s, a, c) => s.ListTouchAsync(a.key, a.timeToLive, c), cancellationToken) : InnerStore.ListTouchAsync(key, timeToLive, cancellationToken);

    /// <summary>The outcome attribute for a failure (see <see cref="StateKitTelemetry.OutcomeTag"/>).</summary>
    /// <param name="failure">The exception.</param>
    /// <returns>The outcome.</returns>
    internal static string Outcome(Exception failure) => failure switch
    {
        StateConflictException => "conflict",
        StateStoreUnavailableException => "unavailable",
        StateCorruptedException => "corrupt",
        OperationCanceledException => "cancelled",
        InvalidStateKeyException or StateValueTooLargeException or ArgumentException => "invalid",
        _ => "error",
    };

    // SetAtVersionAsync is not on IStateStore: the base class forwards it to the inner store (or refuses when that lacks it).
    private ValueTask<IReadOnlyList<bool>> BaseSetManyAtVersionAsync(IReadOnlyList<StateEntry> entries, CancellationToken cancellationToken) =>
        base.SetManyAtVersionAsync(entries, cancellationToken);

    private ValueTask<bool> BaseSetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken) =>
        base.SetAtVersionAsync(key, value, version, expiresAt, cancellationToken);

    private async ValueTask<T> ObserveAsync<T, TArgs>(string operation, int batchSize, TArgs args, Func<IStateStore, TArgs, CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = Start(operation, batchSize);
        try
        {
            var result = await call(InnerStore, args, cancellationToken).ConfigureAwait(false);
            Record(operation, started, activity, null);
            return result;
        }
        catch (Exception ex)
        {
            Record(operation, started, activity, ex);
            throw;
        }
    }

    private async IAsyncEnumerable<string> ObserveKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = Start("ListKeys", 1);
        Exception? failure = null;
        var keys = InnerStore.ListKeysAsync(prefix, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                try
                {
                    if (!await keys.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (Exception ex)
                {
                    failure = ex;
                    throw;
                }

                yield return keys.Current;
            }
        }
        finally
        {
            await keys.DisposeAsync().ConfigureAwait(false);
            Record("ListKeys", started, activity, failure);
        }
    }

    private Activity? Start(string operation, int batchSize)
    {
        var activity = StateKitMetrics.ActivitySource.StartActivity(_spanNames[operation], ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("db.system.name", _system);
            activity.SetTag("db.operation.name", operation);
            if (batchSize != 1)
            {
                activity.SetTag("db.operation.batch.size", batchSize);
            }
        }

        return activity;
    }

    private void Record(string operation, long started, Activity? activity, Exception? failure)
    {
        var outcome = failure is null ? "ok" : Outcome(failure);
        if (_metrics.OperationDuration.Enabled)
        {
            var tags = new TagList
            {
                { "db.system.name", _system },
                { "db.operation.name", operation },
                { StateKitTelemetry.OutcomeTag, outcome },
            };
            if (failure is not null)
            {
                tags.Add("error.type", failure.GetType().FullName);
            }

            _metrics.OperationDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        }

        if (activity is not null)
        {
            activity.SetTag(StateKitTelemetry.OutcomeTag, outcome);
            if (failure is not null)
            {
                activity.SetTag("error.type", failure.GetType().FullName);
                activity.SetStatus(ActivityStatusCode.Error, failure.Message);
            }
        }
    }
}
