using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
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
public sealed class FallbackStateStore : IStateStore, IStateStoreCapabilities, IVersionPreservingStateStore
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
            return this;
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
    public async IAsyncEnumerable<string> ListKeysAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var keys = await ReadAsync<IReadOnlyList<string>>([], async (s, t) =>
        {
            var listed = new List<string>();
            await foreach (var key in s.ListKeysAsync(prefix, t).ConfigureAwait(false))
            {
                if (!key.StartsWith(JournalPrefix, StringComparison.Ordinal))
                {
                    listed.Add(key);
                }
            }

            return listed;
        }, cancellationToken).ConfigureAwait(false);
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return key;
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

    private async ValueTask<T> ReadAsync<T>(IReadOnlyCollection<string> keys, Func<IStateStore, CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_ready.IsCompletedSuccessfully)
        {
            await _ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await _gate.EnterAsync(cancellationToken).ConfigureAwait(false);
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
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_ready.IsCompletedSuccessfully)
        {
            await _ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await _gate.EnterAsync(cancellationToken).ConfigureAwait(false);
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
        StateKitMetrics.RecordFallbackSwitch(to);
        Switched?.Invoke(this, new FallbackSwitch(from, to, reason));
    }

    /// <summary>Records in fallback <paramref name="index"/> what <paramref name="key"/> looked like there before its first write of the outage.</summary>
    private async ValueTask JournalAsync(int index, string key, CancellationToken cancellationToken)
    {
        if (key is null || _journal[index].ContainsKey(key))
        {
            return;
        }

        var store = _stores[index];
        var mark = new JournalMark(key, (await store.GetAsync(key, cancellationToken).ConfigureAwait(false))?.Version ?? 0, await store.ListLengthAsync(key, cancellationToken).ConfigureAwait(false));
        try
        {
            await store.SetAsync(JournalKey(key), JsonSerializer.SerializeToUtf8Bytes(mark), StateWriteOptions.IfNotExists, cancellationToken).ConfigureAwait(false);
        }
        catch (StateConflictException)
        {
            // marked already (by an earlier run of this app): its mark is the older one, keep it
            mark = await ReadMarkAsync(store, JournalKey(key), cancellationToken).ConfigureAwait(false) ?? mark;
        }

        _journal[index][key] = mark;
    }

    private static async ValueTask<JournalMark?> ReadMarkAsync(IStateStore store, string journalKey, CancellationToken cancellationToken) =>
        await store.GetAsync(journalKey, cancellationToken).ConfigureAwait(false) is { } entry ? JsonSerializer.Deserialize<JournalMark>(entry.Value.Span) : null;

    /// <summary>
    /// Copies the written keys from the primary to each fallback: an entry with its version and expiry, a list by applying
    /// the same list operation (<paramref name="listWrite"/>) while the fallback's copy is in line. A copy that fails joins
    /// that fallback's backlog, copied whole later.
    /// </summary>
    private async ValueTask MirrorAsync<T>(IReadOnlyList<string> keys, Func<IStateStore, CancellationToken, ValueTask<T>>? listWrite, CancellationToken cancellationToken)
    {
        var entries = listWrite is null ? await _stores[0].GetManyAsync(keys.Distinct(StringComparer.Ordinal).ToArray(), cancellationToken).ConfigureAwait(false) : null;
        for (var f = 1; f < _stores.Length; f++)
        {
            foreach (var key in keys)
            {
                try
                {
                    if (entries is not null)
                    {
                        await CopyEntryAsync(_stores[f], key, entries.GetValueOrDefault(key), cancellationToken).ConfigureAwait(false);
                    }
                    else if (_backlog[f].ContainsKey(key))
                    {
                        await CopyAsync(_stores[0], _stores[f], key, isList: true, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await listWrite!(_stores[f], cancellationToken).ConfigureAwait(false);
                    }

                    _backlog[f].TryRemove(key, out _);
                }
                catch (Exception ex) when (ex is StateStoreException && !cancellationToken.IsCancellationRequested)
                {
                    _backlog[f][key] = listWrite is not null;
                    Log.FallbackCopyFailed(_logger, ex, _stores[f].Name, StateKit.Adapters.StateKeys.Printable(key));
                }
            }
        }
    }

    /// <summary>Makes <paramref name="to"/> hold what <paramref name="from"/> holds for <paramref name="key"/>: the entry (version and expiry kept) or the list.</summary>
    private async ValueTask CopyAsync(IStateStore from, IStateStore to, string key, bool isList, CancellationToken cancellationToken)
    {
        if (isList)
        {
            var items = await from.ListRangeAsync(key, 0, -1, cancellationToken).ConfigureAwait(false);
            await to.ListDeleteAsync(key, cancellationToken).ConfigureAwait(false);
            if (items.Count > 0)
            {
                await to.ListAppendAsync(key, items, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        await CopyEntryAsync(to, key, await from.GetAsync(key, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes <paramref name="to"/> hold <paramref name="entry"/> for <paramref name="key"/> (version and expiry kept), or nothing.</summary>
    private async ValueTask CopyEntryAsync(IStateStore to, string key, StateEntry? entry, CancellationToken cancellationToken)
    {
        if (entry is null)
        {
            await to.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        var target = to.GetService<IVersionPreservingStateStore>()!;
        if (await target.SetAtVersionAsync(key, entry.Value, entry.Version, entry.ExpiresAt, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var copy = await to.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (copy?.Version != entry.Version)
        {
            // the copy holds a higher version of an older life of the key (deleted and written again): replace it
            await to.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            await target.SetAtVersionAsync(key, entry.Value, entry.Version, entry.ExpiresAt, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await CopyExpiryAsync(to, copy, entry.ExpiresAt, cancellationToken).ConfigureAwait(false); // a touch: same version, new expiry
        }
    }

    /// <summary>
    /// Gives <paramref name="copy"/> (an entry of <paramref name="to"/> at the source's version) the source's expiry when a
    /// touch moved it: the version-preserving write refuses the same version, so the expiry is moved by a touch.
    /// </summary>
    private async ValueTask CopyExpiryAsync(IStateStore to, StateEntry copy, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        if (SameExpiry(copy.ExpiresAt, expiresAt))
        {
            return;
        }

        var timeToLive = expiresAt is { } at ? at - _time.GetUtcNow() : Timeout.InfiniteTimeSpan;
        if (timeToLive == Timeout.InfiniteTimeSpan || timeToLive > TimeSpan.Zero)
        {
            await to.TouchAsync(copy.Key, timeToLive, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await to.DeleteAsync(copy.Key, copy.Version, cancellationToken).ConfigureAwait(false); // expired at the source meanwhile
        }
    }

    /// <summary>Stores keep expiries to the millisecond (rounded up) and a copied touch lands a moment later: closer than that is the same.</summary>
    private static bool SameExpiry(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b is null : b is not null && (a.Value - b.Value).Duration() <= TimeSpan.FromMilliseconds(50);

    /// <summary>Replays every journaled key, <see cref="ReplayConcurrency"/> at a time, each under its key's lock.</summary>
    private async Task<int> ReplayAllAsync(CancellationToken cancellationToken)
    {
        var replayed = 0;
        for (var f = 1; f < _stores.Length; f++)
        {
            var fallback = f;
            await Parallel.ForEachAsync(_journal[f].ToArray(), new ParallelOptions { MaxDegreeOfParallelism = ReplayConcurrency, CancellationToken = cancellationToken }, async (pair, token) =>
            {
                var (key, mark) = pair;
                using var held = await _locks.LockAsync(key, token).ConfigureAwait(false);
                if (!_journal[fallback].TryGetValue(key, out var current) || current != mark)
                {
                    return;
                }

                await ReplayKeyAsync(fallback, mark, token).ConfigureAwait(false);
                await _stores[fallback].DeleteAsync(JournalKey(key), cancellationToken: token).ConfigureAwait(false);
                _journal[fallback].TryRemove(key, out _);
                Interlocked.Increment(ref replayed);
                Interlocked.Increment(ref _replayed);
                StateKitMetrics.RecordFallbackReplay();
            }).ConfigureAwait(false);
        }

        return replayed;
    }

    /// <summary>Brings the primary up to what fallback <paramref name="f"/> holds for one journaled key, then the fallback in line with the primary.</summary>
    private async Task ReplayKeyAsync(int f, JournalMark mark, CancellationToken cancellationToken)
    {
        var (primary, fallback, key) = (_stores[0], _stores[f], mark.Key);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var theirs = await fallback.GetAsync(key, cancellationToken).ConfigureAwait(false);
                var ours = await primary.GetAsync(key, cancellationToken).ConfigureAwait(false);
                var (fallbackVersion, primaryVersion) = (theirs?.Version ?? 0, ours?.Version ?? 0);
                if (fallbackVersion != mark.Version)
                {
                    var conflict = primaryVersion != mark.Version;
                    var fallbackWins = !conflict || _options.ConflictPolicy == FallbackConflictPolicy.FallbackWins;
                    if (conflict)
                    {
                        Report(new FallbackConflict(key, mark.Version, primaryVersion, fallbackVersion, _options.ConflictPolicy));
                    }

                    var winner = fallbackWins ? theirs : ours;
                    if (winner is null)
                    {
                        if (ours is not null)
                        {
                            await primary.DeleteAsync(key, primaryVersion, cancellationToken).ConfigureAwait(false);
                        }
                    }
                    else
                    {
                        // Above every version a caller may have seen on either side.
                        var target = conflict ? Math.Max(fallbackVersion, primaryVersion) + 1 : fallbackVersion;
                        await RaiseAsync(primary, key, winner, primaryVersion, target, cancellationToken).ConfigureAwait(false);
                    }
                }
                else if (theirs is not null && ours is not null && primaryVersion == mark.Version)
                {
                    // Unchanged on both sides but for a touch on the fallback during the outage: the primary takes its expiry.
                    await CopyExpiryAsync(primary, ours, theirs.ExpiresAt, cancellationToken).ConfigureAwait(false);
                }

                await ReplayListAsync(f, mark, cancellationToken).ConfigureAwait(false);
                await CopyAsync(primary, fallback, key, isList: false, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (StateConflictException) when (attempt < MaxReplayAttempts)
            {
                // another instance wrote the key on the primary meanwhile: look again
            }
        }
    }

    private async Task ReplayListAsync(int f, JournalMark mark, CancellationToken cancellationToken)
    {
        var (primary, fallback, key) = (_stores[0], _stores[f], mark.Key);
        var fallbackLength = await fallback.ListLengthAsync(key, cancellationToken).ConfigureAwait(false);
        if (fallbackLength == mark.ListLength)
        {
            return;
        }

        var primaryLength = await primary.ListLengthAsync(key, cancellationToken).ConfigureAwait(false);
        var conflict = primaryLength != mark.ListLength;
        if (conflict)
        {
            Report(new FallbackConflict(key, mark.ListLength, primaryLength, fallbackLength, _options.ConflictPolicy));
        }

        await CopyAsync(conflict && _options.ConflictPolicy == FallbackConflictPolicy.PrimaryWins ? primary : fallback, conflict && _options.ConflictPolicy == FallbackConflictPolicy.PrimaryWins ? fallback : primary, key, isList: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes <paramref name="entry"/>'s value on the primary with compare-and-set from <paramref name="expected"/>, then
    /// raises its version to <paramref name="target"/>: by compare-and-set steps, or past 32 steps by the version-preserving write.
    /// </summary>
    private async Task RaiseAsync(IStateStore primary, string key, StateEntry entry, long expected, long target, CancellationToken cancellationToken)
    {
        var timeToLive = entry.ExpiresAt is { } at ? at - _time.GetUtcNow() : Timeout.InfiniteTimeSpan;
        if (timeToLive != Timeout.InfiniteTimeSpan && timeToLive <= TimeSpan.Zero)
        {
            if (expected > 0)
            {
                await primary.DeleteAsync(key, expected, cancellationToken).ConfigureAwait(false); // it expired meanwhile
            }

            return;
        }

        var version = await primary.SetAsync(key, entry.Value, new StateWriteOptions(expected, timeToLive), cancellationToken).ConfigureAwait(false);
        if (target - version > 32)
        {
            await primary.GetService<IVersionPreservingStateStore>()!.SetAtVersionAsync(key, entry.Value, target, entry.ExpiresAt, cancellationToken).ConfigureAwait(false);
            return;
        }

        while (version < target)
        {
            version = await primary.SetAsync(key, entry.Value, new StateWriteOptions(version, StateTimeToLive.KeepCurrent), cancellationToken).ConfigureAwait(false);
        }
    }

    private void Report(FallbackConflict conflict)
    {
        Interlocked.Increment(ref _conflicts);
        Log.FallbackConflict(_logger, StateKit.Adapters.StateKeys.Printable(conflict.Key), conflict.BaseVersion, conflict.PrimaryVersion, conflict.FallbackVersion, conflict.Resolution);
        StateKitMetrics.RecordFallbackConflict();
        Conflict?.Invoke(this, conflict);
    }

    /// <summary>Reads the journal markers the fallbacks hold (an app restarted during an outage): the chain then starts on the first of them.</summary>
    private async Task LoadJournalsAsync()
    {
        await Task.Yield();
        for (var f = _stores.Length - 1; f >= 1; f--)
        {
            try
            {
                await foreach (var journalKey in _stores[f].ListKeysAsync(JournalPrefix).ConfigureAwait(false))
                {
                    if (await ReadMarkAsync(_stores[f], journalKey, CancellationToken.None).ConfigureAwait(false) is { } mark)
                    {
                        _journal[f][mark.Key] = mark;
                        Volatile.Write(ref _active, f);
                    }
                }
            }
            catch (StateStoreException ex)
            {
                Log.FallbackCopyFailed(_logger, ex, _stores[f].Name, JournalPrefix);
            }
        }
    }

    /// <summary>Probes a failed primary with backoff and recovers; copies what a fallback missed while the primary serves.</summary>
    private async Task MaintainAsync()
    {
        var token = _stopping.Token;
        var delay = _options.ProbeInterval;
        while (!token.IsCancellationRequested)
        {
            await Task.Delay(delay, _time, token).ConfigureAwait(false);
            try
            {
                await _ready.ConfigureAwait(false);
                if (ActiveIndex != 0 || PendingReplay > 0)
                {
                    await TryRecoverAsync(token).ConfigureAwait(false);
                }
                else
                {
                    await CatchUpAsync(token).ConfigureAwait(false);
                }

                delay = _options.ProbeInterval;
            }
            catch (Exception ex) when (ex is StateStoreException or TimeoutException && !token.IsCancellationRequested)
            {
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxProbeInterval.Ticks));
            }
        }
    }

    /// <summary>Copies the keys whose copy to a fallback failed.</summary>
    private async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        for (var f = 1; f < _stores.Length; f++)
        {
            foreach (var (key, isList) in _backlog[f])
            {
                using var held = await _locks.LockAsync(key, cancellationToken).ConfigureAwait(false);
                await CopyAsync(_stores[0], _stores[f], key, isList, cancellationToken).ConfigureAwait(false);
                _backlog[f].TryRemove(key, out _);
            }
        }
    }

    /// <summary>What a key looked like on a fallback before the outage changed it there.</summary>
    private sealed record JournalMark(string Key, long Version, long ListLength);
}
