using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Adapters;
using StateKit.Internal;

namespace StateKit;

/// <summary>
/// Write-behind in front of a slow store: a write is acknowledged once it is in a local durable journal (fsynced, group
/// committed), and flushed to the store in the background: repeated writes of a key coalesce into one, keys are flushed
/// many at a time, and the journal is replayed after a crash. Reads on this instance see its acknowledged writes at once.
/// </summary>
/// <remarks>
/// <para>
/// This instance decides versions and compare-and-set for the keys it writes, from what it wrote and last read, and the
/// flush keeps them in the store (the version-preserving write): meant for keys one instance owns (a session pinned to
/// an instance, an agent's state). A key the store holds at a higher version when a flush arrives (another writer) is a
/// conflict: logged, counted, and the store's value stays.
/// </para>
/// <para>
/// A flush is idempotent by version, so a journal replayed after a crash never applies a write twice. Lists, touches and
/// version-preserving writes go straight to the store (after the key's pending write is flushed). With
/// <see cref="WriteBehindOptions.MaxPendingBytes"/> acknowledged but not flushed, writers wait. Disposing flushes what is
/// pending; what cannot be flushed (the store is down) stays in the journal for the next start.
/// </para>
/// </remarks>
internal sealed partial class WriteBehindStateStore : DelegatingStateStore, IWriteBehindStatus
{
    /// <summary>The value of a flushed key's record: only its version and expiry are kept, the value is in the store.</summary>
    private static readonly byte[] KnownOnly = [];

    private readonly StateStoreGuard _guard;
    private readonly IVersionPreservingStateStore _target;
    private readonly WriteBehindOptions _options;
    private readonly ILogger _logger;
    private readonly WriteBehindJournal _journal;
    private readonly SizedMap<Pending> _entries = new(pending => pending.Dirty ? pending.Size : 0); // counts what is not flushed
    private readonly KeyLocks _locks = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _flusher;
    private long _seq;
    private long _conflicts;
    private long _flushed;

    /// <summary>The layer <c>UseWriteBehind</c> adds (with a container or without): checks writes against the backend's options, on the pipeline's clock.</summary>
    internal static Func<IStateStore, StateStoreLayerContext, IStateStore> Layer(Func<StateStoreLayerContext, WriteBehindOptions> options) =>
        (inner, context) => new WriteBehindStateStore(inner, options(context), context.BackendOptions, context.TimeProvider, context.CreateLogger<WriteBehindStateStore>());

    /// <summary>Initializes a new instance of the <see cref="WriteBehindStateStore"/> class, replaying what its journal holds.</summary>
    /// <param name="innerStore">The slow store; it must provide <see cref="IVersionPreservingStateStore"/>. Owned.</param>
    /// <param name="options">The journal directory, flush interval and bounds.</param>
    /// <param name="storeOptions">The store's limits and default time to live, checked when a write is acknowledged.</param>
    /// <param name="timeProvider">The clock for expiry.</param>
    /// <param name="logger">Where flush failures and conflicts are logged.</param>
    public WriteBehindStateStore(IStateStore innerStore, WriteBehindOptions options, StateStoreOptions? storeOptions = null, TimeProvider? timeProvider = null, ILogger<WriteBehindStateStore>? logger = null)
        : base(innerStore)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.JournalDirectory, nameof(options) + "." + nameof(options.JournalDirectory));
        _target = innerStore.GetService<IVersionPreservingStateStore>()
            ?? throw new ArgumentException($"The store '{innerStore.Name}' cannot write at a given version (IVersionPreservingStateStore), which write-behind needs to keep versions.", nameof(innerStore));
        _options = options;
        _guard = new StateStoreGuard(innerStore.Name, storeOptions ?? new StateStoreOptions(), timeProvider);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _journal = new WriteBehindJournal(options.JournalDirectory, options.SegmentBytes, out var recovered);
        foreach (var (seq, writes) in recovered)
        {
            Apply(seq, writes);
            _seq = Math.Max(_seq, seq);
        }

        _flusher = Task.Run(FlushLoopAsync);
    }

    /// <summary>Gets how many keys have acknowledged writes not yet in the store.</summary>
    public int PendingCount => _entries.Count(e => e.Value.Dirty);

    /// <summary>Gets how many key writes were flushed to the store.</summary>
    public long Flushed => Interlocked.Read(ref _flushed);

    /// <summary>Gets how many flushes found the store ahead (another writer): the store's value stayed.</summary>
    public long Conflicts => Interlocked.Read(ref _conflicts);

    /// <summary>Gets or sets where flush lags and conflicts are counted (the container's instruments in a pipeline).</summary>
    internal StateKitMetrics Metrics { get; set; } = StateKitMetrics.Process;

    /// <inheritdoc />
    public override async ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Get");
        if (_entries.TryGetValue(key, out var pending) && pending.Dirty)
        {
            return Visible(key, pending);
        }

        return await base.GetAsync(key, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        var distinct = _guard.ValidateDistinctKeys(keys, "GetMany");
        var result = new Dictionary<string, StateEntry>(StringComparer.Ordinal);
        var rest = new List<string>();
        foreach (var key in distinct)
        {
            if (_entries.TryGetValue(key, out var pending) && pending.Dirty)
            {
                if (Visible(key, pending) is { } entry)
                {
                    result[key] = entry;
                }
            }
            else
            {
                rest.Add(key);
            }
        }

        if (rest.Count > 0)
        {
            foreach (var (key, entry) in await base.GetManyAsync(rest, cancellationToken).ConfigureAwait(false))
            {
                result[key] = entry;
            }
        }

        return result;
    }

    /// <inheritdoc />
    public override async ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        await GetAsync(key, cancellationToken).ConfigureAwait(false) is not null;

    /// <inheritdoc />
    public override async ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateWrite(key, value, options, "Set");
        var versions = await WriteAsync([new StateWrite(key, value, options)], "Set", cancellationToken).ConfigureAwait(false);
        return versions[0];
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateBatch(writes, "SetMany");
        return writes.Count == 0 ? [] : await WriteAsync(writes, "SetMany", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Delete");
        _guard.ValidateDeleteVersion(expectedVersion);
        using var held = await _locks.LockAsync(key, cancellationToken).ConfigureAwait(false);
        var live = await LiveAsync(key, cancellationToken).ConfigureAwait(false);
        if (expectedVersion is { } expected && expected != live.Version)
        {
            throw new StateConflictException(Name, "Delete", key, expected, live.Version);
        }

        if (live.Version == 0)
        {
            return false;
        }

        await JournalAsync([new JournaledWrite(key, null, live.Version, null)], cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public override async ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Touch");
        return await ThroughAsync(key, () => base.TouchAsync(key, timeToLive, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateVersionedWrite(key, value, version, expiresAt, "SetAtVersion");
        return await ThroughAsync(key, () => base.SetAtVersionAsync(key, value, version, expiresAt, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<string> ListKeysAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _guard.ValidatePrefix(prefix, "ListKeys");
        _guard.Enter(cancellationToken);
        var pending = _entries.Where(e => e.Value.Dirty && e.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        await foreach (var key in base.ListKeysAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (!pending.ContainsKey(key))
            {
                yield return key;
            }
        }

        foreach (var (key, entry) in pending)
        {
            if (Visible(key, entry) is not null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return key;
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Flushes what is pending first, so that the store's purge sees every acknowledged write.</remarks>
    public override async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        await FlushOnceAsync(cancellationToken).ConfigureAwait(false);
        return await base.PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Flushes every acknowledged write to the store now.</summary>
    /// <param name="cancellationToken">A token that cancels the flush.</param>
    /// <returns>A task.</returns>
    /// <exception cref="StateStoreUnavailableException">The store could not take every write; the rest stays pending.</exception>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await FlushOnceAsync(cancellationToken).ConfigureAwait(false);
        if (PendingCount > 0)
        {
            await FlushOnceAsync(cancellationToken).ConfigureAwait(false);
        }

        if (PendingCount > 0)
        {
            throw new StateStoreUnavailableException(Name, "flush", null, $"{PendingCount} keys could not be flushed; they stay in the journal");
        }
    }

    /// <inheritdoc />
    /// <remarks>Runs once: <see cref="DelegatingStateStore.DisposeAsync"/> calls it only the first time.</remarks>
    protected override async ValueTask DisposeAsyncCore()
    {
        _guard.MarkDisposed();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _flusher.ConfigureAwait(false);
        try
        {
            await FlushOnceAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (StateStoreException ex)
        {
            Log.WriteBehindFlushFailed(_logger, ex, PendingCount);
        }

        await _journal.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    private StateEntry? Visible(string key, Pending pending) =>
        pending.Value is null || _guard.IsExpired(pending.ExpiresAt) ? null : new StateEntry(key, pending.Value, pending.Version, pending.ExpiresAt);

    /// <summary>The version and expiry of a key as this instance sees it: its own last write, else the store's.</summary>
    private async ValueTask<StateWritePlan> LiveAsync(string key, CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue(key, out var known))
        {
            return known.Value is null || _guard.IsExpired(known.ExpiresAt) ? default : new StateWritePlan(known.Version, known.ExpiresAt);
        }

        var stored = await base.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return stored is null ? default : new StateWritePlan(stored.Version, stored.ExpiresAt);
    }

    private async ValueTask<IReadOnlyList<long>> WriteAsync(IReadOnlyList<StateWrite> writes, string operation, CancellationToken cancellationToken)
    {
        await WaitForRoomAsync(cancellationToken).ConfigureAwait(false);
        using var held = await _locks.LockAsync(writes.Select(w => w.Key), cancellationToken).ConfigureAwait(false);
        var live = new Dictionary<string, StateWritePlan>(StringComparer.Ordinal);
        foreach (var write in writes)
        {
            if (!live.ContainsKey(write.Key))
            {
                live[write.Key] = await LiveAsync(write.Key, cancellationToken).ConfigureAwait(false);
            }
        }

        var plans = _guard.PlanBatch(writes, k => live[k], operation);
        var journaled = new JournaledWrite[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            journaled[i] = new JournaledWrite(writes[i].Key, writes[i].Value.ToArray(), plans[i].Version, plans[i].ExpiresAt);
        }

        await JournalAsync(journaled, cancellationToken).ConfigureAwait(false);
        return plans.Select(p => p.Version).ToArray();
    }

    /// <summary>Makes writes durable in the journal, then visible; the caller holds the keys' locks.</summary>
    private async ValueTask JournalAsync(IReadOnlyList<JournaledWrite> writes, CancellationToken cancellationToken)
    {
        var seq = Interlocked.Increment(ref _seq);
        await _journal.AppendAsync(seq, writes).WaitAsync(cancellationToken).ConfigureAwait(false);
        Apply(seq, writes);
        if (_entries.Bytes > _options.MaxPendingBytes / 4)
        {
            _wake.Release();
        }
    }

    private void Apply(long seq, IReadOnlyList<JournaledWrite> writes)
    {
        foreach (var write in writes)
        {
            var next = new Pending(write.Value, write.Version, write.ExpiresAt, seq, Dirty: true, Environment.TickCount64);
            _entries.Set(write.Key, old => next with { DeletedThrough = old is null ? (write.Value is null ? write.Version : 0) : DeletedThrough(old, write) });
        }
    }

    /// <summary>
    /// The highest version of a life of the key that was deleted and is not flushed yet: a write coalesced over a pending
    /// delete starts a new life (at version 1), and its flush must first remove what the store holds of the older lives.
    /// </summary>
    private static long DeletedThrough(Pending old, JournaledWrite write)
    {
        var carried = old.Dirty ? Math.Max(old.DeletedThrough, old.Value is null ? old.Version : 0) : 0;
        return write.Value is null ? Math.Max(carried, write.Version) : carried;
    }

    /// <summary>Runs an operation that goes straight to the store, after the key's pending write is flushed; forgets what this instance knew of the key.</summary>
    private async ValueTask<bool> ThroughAsync(string key, Func<ValueTask<bool>> operation, CancellationToken cancellationToken)
    {
        using var held = await _locks.LockAsync(key, cancellationToken).ConfigureAwait(false);
        if (_entries.TryGetValue(key, out var pending) && pending.Dirty)
        {
            await FlushKeyAsync(key, pending, cancellationToken).ConfigureAwait(false);
        }

        var result = await operation().ConfigureAwait(false);
        if (_entries.TryGetValue(key, out var known) && !known.Dirty)
        {
            _entries.TryRemove(key, known);
        }

        return result;
    }

    private async ValueTask WaitForRoomAsync(CancellationToken cancellationToken)
    {
        while (_entries.Bytes > _options.MaxPendingBytes)
        {
            _wake.Release();
            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What this instance wrote to a key: pending (<see cref="Dirty"/>) until the store has it; a delete has no value.</summary>
    /// <remarks><see cref="DeletedThrough"/>: see <see cref="WriteBehindStateStore.DeletedThrough(Pending, JournaledWrite)"/>.</remarks>
    private sealed record Pending(byte[]? Value, long Version, DateTimeOffset? ExpiresAt, long Seq, bool Dirty, long AcknowledgedAt)
    {
        public long DeletedThrough { get; init; }

        public long Size => (Value?.Length ?? 0) + 64;
    }
}
