using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Internal;

namespace StateKit;

/// <summary>
/// A fallback chain: a primary store and the stores that back it up, in order. Operations go to the first store that
/// answers; while the primary is down a background probe (with backoff) watches it, and on recovery the writes made on the
/// fallback are replayed onto it with compare-and-set before the chain switches back.
/// </summary>
/// <remarks>
/// <para>
/// <b>Mirroring.</b> While the primary serves, every write is copied to each fallback once the primary acknowledges it,
/// with the primary's version and expiry (the version-preserving write), so a switch finds the fallback current. A copy
/// that fails is retried in the background; until it lands, that key is not served from that fallback (a read of it
/// there fails with <see cref="StateStoreUnavailableException"/> instead of answering an older value).
/// </para>
/// <para>
/// <b>Versions.</b> The fallback continues each key from the primary's version, and replay raises the primary to the
/// fallback's version (one compare-and-set write per version step, or, past 32 steps, a compare-and-set write and then the
/// version-preserving write), so a caller that has seen a key at version n never sees it lower, before or after a switch.
/// </para>
/// <para>
/// <b>Journal.</b> The first write of a key on a fallback records, in that fallback store, the version and list length
/// the key had there (a marker under <c>statekit-fallback/</c>): it survives a restart of the app, and replay starts from
/// it. A key whose primary moved on during the outage as well (another instance wrote it, or a write whose outcome was
/// unknown had landed) is a <see cref="Conflict"/>: logged, counted and raised, and resolved by
/// <see cref="FallbackStateStoreOptions.ConflictPolicy"/>. Lists have no versions: a list is compared by length, and the
/// winning side's items replace the other's (the replayed list keeps no expiry).
/// </para>
/// <para>
/// The change feed is the primary's: during an outage other instances learn nothing of the writes made on the fallback
/// until replay writes them to the primary.
/// </para>
/// </remarks>
internal sealed partial class FallbackStateStore : IStateStore, IStateStoreCapabilities, IVersionPreservingStateStore, IStateListCatalog, IFallbackStatus
{
    /// <summary>The key prefix of the journal markers a fallback store holds during an outage.</summary>
    public const string JournalPrefix = "statekit-fallback/";

    private const int MaxReplayAttempts = 5;

    /// <summary>How many keys are replayed at once.</summary>
    private const int ReplayConcurrency = 16;

    /// <summary>Replay passes go on with operations running until at most this many keys are left for the held pass.</summary>
    private const int HeldReplayKeys = 64;

    private const int MaxOpenReplayPasses = 8;
    private readonly IStateStore[] _stores;
    private readonly bool _ownsFallbacks;
    private readonly FallbackStateStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly KeyLocks _locks = new();
    private readonly ConcurrentDictionary<string, bool>[] _backlog;
    private readonly ConcurrentDictionary<string, JournalMark>[] _journal;
    private readonly OperationGate _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _ready;
    private readonly Task _maintenance;
    private int _active;
    private long _conflicts;
    private int _disposed;
    private long _replayed;

    /// <summary>The layer <c>UseFallback</c> adds (with a container or without): the chain from the store below to <paramref name="fallbacks"/>.</summary>
    /// <param name="options">The chain's options.</param>
    /// <param name="fallbacks">The fallback stores.</param>
    /// <param name="ownsFallbacks">Whether the chain disposes them.</param>
    /// <param name="names">Their names for <c>DescribePipeline</c>, or <see langword="null"/> for their store names.</param>
    internal static Func<IStateStore, StateStoreLayerContext, IStateStore> Layer(
        Func<StateStoreLayerContext, FallbackStateStoreOptions> options,
        Func<StateStoreLayerContext, IReadOnlyList<IStateStore>> fallbacks,
        bool ownsFallbacks,
        IReadOnlyList<string>? names) =>
        (inner, context) => new FallbackStateStore([inner, .. fallbacks(context)], options(context), ownsFallbacks, context.TimeProvider, context.CreateLogger<FallbackStateStore>())
        {
            FallbackNames = names,
        };

    /// <summary>Initializes a new instance of the <see cref="FallbackStateStore"/> class.</summary>
    /// <param name="stores">The primary first, then its fallbacks in order; each must provide <see cref="IVersionPreservingStateStore"/>.</param>
    /// <param name="options">Probing and conflict policy; defaults when <see langword="null"/>.</param>
    /// <param name="ownsFallbacks">Whether disposing the chain disposes the fallbacks (the primary it always disposes).</param>
    /// <param name="timeProvider">The clock for probing and expiry.</param>
    /// <param name="logger">Where switches, replays and conflicts are logged.</param>
    /// <exception cref="ArgumentException">Fewer than two stores, or one without the version-preserving write.</exception>
    public FallbackStateStore(IReadOnlyList<IStateStore> stores, FallbackStateStoreOptions? options = null, bool ownsFallbacks = true, TimeProvider? timeProvider = null, ILogger<FallbackStateStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(stores);
        if (stores.Count < 2 || stores.Any(s => s is null))
        {
            throw new ArgumentException("A fallback chain needs a primary and at least one fallback.", nameof(stores));
        }

        if (stores.FirstOrDefault(s => s.GetService<IVersionPreservingStateStore>() is null) is { } missing)
        {
            throw new ArgumentException($"The store '{missing.Name}' cannot write at a given version (IVersionPreservingStateStore), which a fallback chain needs to keep versions across a switch.", nameof(stores));
        }

        _stores = [.. stores];
        _options = options ?? new FallbackStateStoreOptions();
        _ownsFallbacks = ownsFallbacks;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _backlog = _stores.Select(_ => new ConcurrentDictionary<string, bool>(StringComparer.Ordinal)).ToArray();
        _journal = _stores.Select(_ => new ConcurrentDictionary<string, JournalMark>(StringComparer.Ordinal)).ToArray();
        Capabilities = _stores.Aggregate(~StateStoreCapabilities.None, (all, s) => all & s.GetCapabilities());
        _ready = LoadJournalsAsync();
        _maintenance = Task.Run(MaintainAsync);
    }

    /// <summary>Raised when the chain changes the store it serves from (on a failure, and back on recovery).</summary>
    public event EventHandler<FallbackSwitch>? Switched;

    /// <summary>Raised for each key that changed on both sides of an outage, as replay finds it.</summary>
    public event EventHandler<FallbackConflict>? Conflict;

    /// <inheritdoc />
    public string Name => _stores[0].Name;

    /// <summary>Gets the chain's stores, the primary first (for <see cref="StateStoreExtensions.DescribePipeline"/>).</summary>
    internal IReadOnlyList<IStateStore> Stores => _stores;

    /// <summary>Gets the names the fallbacks were configured by (named stores), for the description; their store names when not set.</summary>
    internal IReadOnlyList<string>? FallbackNames { get; init; }

    /// <summary>Gets or sets where switches, replays and conflicts are counted (the container's instruments in a pipeline).</summary>
    internal StateKitMetrics Metrics { get; set; } = StateKitMetrics.Process;

    /// <inheritdoc />
    public StateStoreCapabilities Capabilities { get; }

    /// <summary>Gets the index in the chain of the store it serves from: 0 for the primary.</summary>
    public int ActiveIndex => Volatile.Read(ref _active);

    /// <summary>Gets whether the chain serves from a fallback (health checks report Degraded).</summary>
    public bool IsOnFallback => Volatile.Read(ref _active) != 0;

    /// <summary>Gets how many keys wait to be replayed onto the primary.</summary>
    public int PendingReplay => _journal.Sum(j => j.Count);

    /// <summary>Gets how many keys were replayed onto the primary so far.</summary>
    public long Replayed => Interlocked.Read(ref _replayed);

    /// <summary>Gets how long operations were held during the last switch back to the primary (its last replay pass).</summary>
    public TimeSpan LastSwitchBackHold { get; private set; }

    /// <summary>Gets how many conflicts replay found so far.</summary>
    public long Conflicts => Interlocked.Read(ref _conflicts);

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null && serviceType.IsInstanceOfType(this))
        {
            // The catalog answers from whichever store serves: only when every one of them has it.
            return serviceType != typeof(IStateListCatalog) || _stores.All(s => s.GetService<IStateListCatalog>() is not null) ? this : null;
        }

        return _stores[0].GetService(serviceType, serviceKey);
    }

    /// <inheritdoc />
    public ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        ReadAsync([key], (s, t) => s.GetAsync(key, t), cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return ReadAsync(keys, (s, t) => s.GetManyAsync(keys, t), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        ReadAsync([key], (s, t) => s.ExistsAsync(key, t), cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) =>
        WriteAsync([key], isList: false, (s, t) => s.SetAsync(key, value, options, t), cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writes);
        return WriteAsync(writes.Select(w => w.Key).ToArray(), isList: false, (s, t) => s.SetManyAsync(writes, t), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
        WriteAsync([key], isList: false, (s, t) => s.GetService<IVersionPreservingStateStore>()!.SetAtVersionAsync(key, value, version, expiresAt, t), cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) =>
        WriteAsync([key], isList: false, (s, t) => s.DeleteAsync(key, expectedVersion, t), cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        WriteAsync([key], isList: false, (s, t) => s.TouchAsync(key, timeToLive, t), cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListKeysAsync(string prefix = "", CancellationToken cancellationToken = default) =>
        ListFromServingStoreAsync((s, t) => s.ListKeysAsync(prefix, t), static key => key, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Named by the store that serves reads now (the primary, or a fallback during an outage), like <see cref="ListKeysAsync"/>.</remarks>
    public IAsyncEnumerable<StateListInfo> ListListsAsync(string prefix = "", CancellationToken cancellationToken = default) =>
        ListFromServingStoreAsync((s, t) => s.GetRequiredService<IStateListCatalog>().ListListsAsync(prefix, t), static list => list.Key, cancellationToken);

    /// <summary>Reads a whole listing from the store that serves reads, without the fallback's own journal keys.</summary>
    private async IAsyncEnumerable<T> ListFromServingStoreAsync<T>(Func<IStateStore, CancellationToken, IAsyncEnumerable<T>> list, Func<T, string> keyOf, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var items = await ReadAsync<IReadOnlyList<T>>([], async (s, t) =>
        {
            var listed = new List<T>();
            await foreach (var item in list(s, t).ConfigureAwait(false))
            {
                if (!keyOf(item).StartsWith(JournalPrefix, StringComparison.Ordinal))
                {
                    listed.Add(item);
                }
            }

            return listed;
        }, cancellationToken).ConfigureAwait(false);
        foreach (var item in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return item;
        }
    }

    /// <inheritdoc />
    public ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default) =>
        ReadAsync([], (s, t) => s.PurgeExpiredAsync(t), cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) =>
        WriteAsync([key], isList: true, (s, t) => s.ListAppendAsync(key, items, timeToLive, t), cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) =>
        ReadAsync([key], (s, t) => s.ListRangeAsync(key, start, stop, t), cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default) =>
        ReadAsync([key], (s, t) => s.ListLengthAsync(key, t), cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default) =>
        WriteAsync([key], isList: true, (s, t) => s.ListTrimAsync(key, start, stop, t), cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default) =>
        WriteAsync([key], isList: true, (s, t) => s.ListDeleteAsync(key, t), cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        WriteAsync([key], isList: true, (s, t) => s.ListTouchAsync(key, timeToLive, t), cancellationToken);

    /// <summary>
    /// Probes the primary now and, when it answers, replays what the fallbacks journaled and switches back; what the
    /// background probe does on its schedule.
    /// </summary>
    /// <param name="cancellationToken">A token that cancels the attempt.</param>
    /// <returns>Whether the chain serves from the primary afterwards.</returns>
    public async Task<bool> TryRecoverAsync(CancellationToken cancellationToken = default)
    {
        await _ready.ConfigureAwait(false);
        if (ActiveIndex == 0 && PendingReplay == 0)
        {
            return true;
        }

        await _stores[0].ExistsAsync(JournalPrefix + "probe", cancellationToken).ConfigureAwait(false); // throws while it is down
        // Replay with operations going on (they keep writing to the fallback and journaling keys) until what is left is
        // small, so the last pass, with operations held, is short.
        var replayed = await ReplayAllAsync(cancellationToken).ConfigureAwait(false);
        for (var pass = 0; pass < MaxOpenReplayPasses && PendingReplay > HeldReplayKeys; pass++)
        {
            replayed += await ReplayAllAsync(cancellationToken).ConfigureAwait(false);
        }

        var held = System.Diagnostics.Stopwatch.StartNew();
        await _gate.CloseAsync().ConfigureAwait(false);
        int from;
        try
        {
            replayed += await ReplayAllAsync(cancellationToken).ConfigureAwait(false);
            from = Interlocked.Exchange(ref _active, 0);
        }
        finally
        {
            _gate.Open();
            LastSwitchBackHold = held.Elapsed;
        }

        if (from != 0)
        {
            Raise(from, 0, $"the primary answers again; {replayed} keys replayed, operations held {LastSwitchBackHold.TotalMilliseconds:F0} ms");
        }

        return true;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _maintenance.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        for (var i = 0; i < _stores.Length; i++)
        {
            if (i == 0 || _ownsFallbacks)
            {
                await _stores[i].DisposeAsync().ConfigureAwait(false);
            }
        }

        _stopping.Dispose();
    }

    private static string JournalKey(string key) =>
        JournalPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 16));

    /// <summary>The entry of every operation: not disposed, not cancelled, the journals loaded, then through the gate (leave with <c>_gate.Exit()</c>).</summary>
    private async ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_ready.IsCompletedSuccessfully)
        {
            await _ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await _gate.EnterAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<T> ReadAsync<T>(IReadOnlyCollection<string> keys, Func<IStateStore, CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                var index = ActiveIndex;
                try
                {
                    if (index > 0)
                    {
                        Unsynced(index, keys);
                    }

                    return await read(_stores[index], cancellationToken).ConfigureAwait(false);
                }
                catch (StateStoreUnavailableException ex) when (!cancellationToken.IsCancellationRequested && Failed(index, ex))
                {
                    // switched: try the next store
                }
            }
        }
        finally
        {
            _gate.Exit();
        }
    }

    private async ValueTask<T> WriteAsync<T>(IReadOnlyList<string> keys, bool isList, Func<IStateStore, CancellationToken, ValueTask<T>> write, CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var held = await _locks.LockAsync(keys, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var index = ActiveIndex;
                T result;
                try
                {
                    if (index > 0)
                    {
                        Unsynced(index, keys);
                        foreach (var key in keys)
                        {
                            await JournalAsync(index, key, cancellationToken).ConfigureAwait(false);
                        }
                    }

                    result = await write(_stores[index], cancellationToken).ConfigureAwait(false);
                    if (index == 0)
                    {
                        // Reading what to copy fails when the primary went down just after the write: the write is then
                        // made again on the fallback (the primary may have it too: replay reports that as a conflict).
                        await MirrorAsync(keys, isList ? write : null, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (StateStoreUnavailableException ex) when (!cancellationToken.IsCancellationRequested && Failed(index, ex))
                {
                    continue;
                }

                return result;
            }
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>Refuses keys whose copy on fallback <paramref name="index"/> is known to be behind.</summary>
    private void Unsynced(int index, IEnumerable<string> keys)
    {
        if (_backlog[index].IsEmpty)
        {
            return;
        }

        foreach (var key in keys)
        {
            if (key is not null && _backlog[index].ContainsKey(key))
            {
                throw new StateStoreUnavailableException(_stores[index].Name, "fallback", key, "the primary is down and the fallback's copy of this key is behind (its last copy failed)");
            }
        }
    }

    /// <summary>Marks store <paramref name="index"/> down and moves to the next; false when there is none (the failure stands).</summary>
    private bool Failed(int index, StateStoreUnavailableException failure)
    {
        if (index + 1 >= _stores.Length)
        {
            return false;
        }

        if (Interlocked.CompareExchange(ref _active, index + 1, index) == index)
        {
            Raise(index, index + 1, failure.Message);
        }

        return true;
    }

    private void Raise(int from, int to, string reason)
    {
        Log.FallbackSwitched(_logger, _stores[from].Name, from, _stores[to].Name, to, reason);
        Metrics.RecordFallbackSwitch(to);
        Notify(_options.OnSwitch, Switched, new FallbackSwitch(from, to, reason));
    }

    /// <summary>
    /// Runs the option's callback and each of the event's handlers on its own; what one throws is logged, never passed to
    /// the caller whose call saw the change, and never keeps the next one from running.
    /// </summary>
    private void Notify<T>(Action<T>? callback, EventHandler<T>? handlers, T change)
    {
        foreach (var listener in (callback?.GetInvocationList() ?? []).Concat(handlers?.GetInvocationList() ?? []))
        {
            try
            {
                if (listener is Action<T> action)
                {
                    action(change);
                }
                else
                {
                    ((EventHandler<T>)listener)(this, change);
                }
            }
            catch (Exception ex)
            {
                Log.FallbackCallbackFailed(_logger, ex, typeof(T).Name);
            }
        }
    }

    /// <summary>What a key looked like on a fallback before the outage changed it there.</summary>
    private sealed record JournalMark(string Key, long Version, long ListLength);
}
