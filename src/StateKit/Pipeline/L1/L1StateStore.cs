using System.Collections.Concurrent;

namespace StateKit;

/// <summary>
/// An in-process tier in front of any store (a decorator): repeated reads of an entry are answered from memory, bounded
/// by count and bytes, each entry for at most <see cref="L1StateStoreOptions.Lifetime"/>, and removed as soon as the
/// store's change feed (<see cref="IStateChangeFeed"/>, when the store has one) reports a change to it — made by this
/// instance or another one. Writes, deletes and touches always go to the store and remove the entry here, so
/// conditional writes still decide at the store: a write at a stale version fails there. Lists are not held.
/// </summary>
/// <remarks>
/// <para>
/// An entry is held only when no change to its key was seen while it was being read, so a read racing a write or a
/// notice never puts the older value back. When the feed may have missed notices (<see cref="StateStoreChangeKind.Resync"/>,
/// a lost connection) everything held is dropped. Entries are never answered past their own expiry.
/// </para>
/// <para>
/// The entries returned are shared: <see cref="StateEntry.Value"/> is read-only memory, so a caller cannot change what
/// another caller reads. Over its bounds the tier drops arbitrary entries (random replacement), which costs nothing per read.
/// </para>
/// </remarks>
internal sealed partial class L1StateStore : DelegatingStateStore, Internal.ISharesDecodedValues, IL1Status
{
    private const int Stripes = 256;
    private readonly Internal.SizedMap<Held> _held = new(held => held.Size);
    private readonly long[] _generations = new long[Stripes];
    private readonly ConcurrentDictionary<string, OwnWrite> _ownWrites = new(StringComparer.Ordinal);
    private readonly L1StateStoreOptions _options;
    /// <summary>The resolution <see cref="Environment.TickCount64"/> may have (the coarse monotonic clock on Linux, the timer tick on Windows).</summary>
    private const long TickResolutionMs = 20;

    private readonly TimeProvider _time;
    private readonly bool _systemClock;
    private readonly long _lifetimeTicks;
    private readonly IStateChangeFeed? _feed;
    private readonly SemaphoreSlim _subscribing = new(1, 1);
    private readonly object _evicting = new();
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<StateEntry, object> _stale = new();
    private IAsyncDisposable? _subscription;
    private volatile bool _subscribed;
    private volatile bool _disposed;
    private long _retrySubscribeAt;

    /// <summary>The layer <c>UseL1</c> adds (with a container or without): the tier with the options <paramref name="options"/> gives, on the pipeline's clock.</summary>
    internal static Func<IStateStore, StateStoreLayerContext, IStateStore> Layer(Func<StateStoreLayerContext, L1StateStoreOptions> options) =>
        (inner, context) => new L1StateStore(inner, options(context), context.TimeProvider);

    /// <summary>Initializes a new instance of the <see cref="L1StateStore"/> class.</summary>
    /// <param name="innerStore">The store of record.</param>
    /// <param name="options">The bounds and lifetime; defaults when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock (use the store's, so expiry agrees); <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public L1StateStore(IStateStore innerStore, L1StateStoreOptions? options = null, TimeProvider? timeProvider = null)
        : base(innerStore)
    {
        _options = options ?? new L1StateStoreOptions();
        if (_options.MaxEntries < 1 || _options.MaxBytes < 1024 || _options.Lifetime <= TimeSpan.Zero || _options.FailSafeMaxStaleness <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "L1 bounds, lifetime and fail-safe staleness must be positive (MaxEntries ≥ 1, MaxBytes ≥ 1024).");
        }

        _time = timeProvider ?? TimeProvider.System;
        _systemClock = ReferenceEquals(_time, TimeProvider.System);
        _lifetimeTicks = (long)_options.Lifetime.TotalMilliseconds - TickResolutionMs;
        _feed = innerStore.GetService<IStateChangeFeed>();
    }

    /// <summary>Gets how many entries the tier holds now.</summary>
    public int Count => _held.Count;

    /// <summary>Gets how many value bytes the tier holds now.</summary>
    public long Bytes => _held.Bytes;

    /// <summary>
    /// Tells whether <paramref name="entry"/> was answered by the fail-safe (<see cref="L1StateStoreOptions.FailSafeMaxStaleness"/>):
    /// the store was unavailable and this is the last value the tier read, possibly outdated.
    /// </summary>
    /// <param name="entry">An entry this tier returned.</param>
    /// <returns>Whether it is a stale fallback.</returns>
    public bool IsStale(StateEntry entry) => entry is not null && _stale.TryGetValue(entry, out _);

    /// <inheritdoc />
    public override ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_systemClock && key is not null && !_disposed && _held.TryGetValue(key, out var fresh)
            && fresh.Entry.ExpiresAt is null && Environment.TickCount64 < fresh.UntilTick)
        {
            return new(fresh.Entry); // the common hit: an entry without expiry, inside its lifetime, no wall-clock read
        }

        var now = _time.GetUtcNow();
        return TryGetHeld(key!, now) is { } held ? new(held) : ReadAsync(key!, now, cancellationToken); // a hit completes synchronously
    }

    private async ValueTask<StateEntry?> ReadAsync(string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var canHold = await CanHoldAsync(cancellationToken).ConfigureAwait(false);
        var generation = key is null ? 0 : Generation(key);
        StateEntry? entry;
        try
        {
            entry = await base.GetAsync(key!, cancellationToken).ConfigureAwait(false);
        }
        catch (StateStoreUnavailableException) when (FailSafe(key, now) is { } stale)
        {
            return stale;
        }

        if (canHold && entry is not null && !_disposed)
        {
            Hold(entry, generation, now);
        }

        return entry;
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        cancellationToken.ThrowIfCancellationRequested();
        var now = _time.GetUtcNow();
        var result = new Dictionary<string, StateEntry>(keys.Count, StringComparer.Ordinal);
        var missing = new List<string>(keys.Count);
        foreach (var key in keys)
        {
            if (key is not null && TryGetHeld(key, now) is { } held)
            {
                result[key] = held;
            }
            else
            {
                missing.Add(key!);
            }
        }

        if (missing.Count == 0)
        {
            return result;
        }

        var canHold = await CanHoldAsync(cancellationToken).ConfigureAwait(false);
        var generations = missing.Select(k => k is null ? 0 : Generation(k)).ToArray();
        var read = await base.GetManyAsync(missing, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < missing.Count; i++)
        {
            if (missing[i] is { } key && read.TryGetValue(key, out var entry))
            {
                result[key] = entry;
                if (canHold)
                {
                    Hold(entry, generations[i], now);
                }
            }
        }

        return result;
    }

    /// <inheritdoc />
    public override async ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return TryGetHeld(key, _time.GetUtcNow()) is not null || await base.ExistsAsync(key, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A conditional write with an explicit time to live (what sessions and compare-and-set updates make) is also held
    /// once the store has it, so this instance's next read of the key needs no round trip: its version is known before
    /// the write (expected + 1), the store's own notice of it is recognised by that version, and any other change noticed
    /// while it is written keeps it out. Other writes only remove the key.
    /// </remarks>
    public override async ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
    {
        if (options.ExpectedVersion is not { } expected || expected < 0 || key is null || options.TimeToLive is not { } ttl
            || ttl == StateTimeToLive.KeepCurrent || (ttl <= TimeSpan.Zero && ttl != Timeout.InfiniteTimeSpan)
            || !await CanHoldAsync(cancellationToken).ConfigureAwait(false))
        {
            Forget(key!);
            try
            {
                return await base.SetAsync(key!, value, options, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Forget(key!);
            }
        }

        var own = new OwnWrite(expected + 1);
        Forget(key);
        _ownWrites[key] = own;
        var generation = Generation(key);
        try
        {
            var now = _time.GetUtcNow();
            var version = await base.SetAsync(key, value, options, cancellationToken).ConfigureAwait(false);
            if (version == own.Version && !_disposed)
            {
                // The store's expiry is computed at its own later instant: the one held here never outlasts it.
                DateTimeOffset? expiresAt = ttl == Timeout.InfiniteTimeSpan ? null : new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero) + ttl;
                Hold(new StateEntry(key, value.ToArray(), version, expiresAt), generation, now);
            }

            if (!_held.TryGetValue(key, out var held) || held.Entry.Version != version)
            {
                Forget(key); // not held (a change came in between): nothing older may stay either
            }

            return version;
        }
        catch
        {
            Forget(key);
            throw;
        }
        finally
        {
            _ownWrites.TryRemove(new KeyValuePair<string, OwnWrite>(key, own));
        }
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writes);
        ForgetAll(writes.Select(w => w.Key));
        try
        {
            return await base.SetManyAsync(writes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ForgetAll(writes.Select(w => w.Key));
        }
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<bool>> SetManyAtVersionAsync(IReadOnlyList<StateEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var keys = entries.Select(e => e.Key).ToList();
        ForgetAll(keys);
        try
        {
            return await InnerStore.GetRequiredService<IVersionPreservingStateStore>().SetManyAtVersionAsync(entries, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ForgetAll(keys);
        }
    }

    /// <inheritdoc />
    public override async ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default)
    {
        Forget(key);
        try
        {
            return await base.SetAtVersionAsync(key, value, version, expiresAt, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Forget(key);
        }
    }

    /// <inheritdoc />
    public override async ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        Forget(key);
        try
        {
            return await base.DeleteAsync(key, expectedVersion, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Forget(key);
        }
    }

    /// <inheritdoc />
    public override async ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        Forget(key);
        try
        {
            return await base.TouchAsync(key, timeToLive, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Forget(key);
        }
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        _disposed = true;
        _held.Clear();
        if (_subscription is { } subscription)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }

        _subscribing.Dispose();
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    /// <summary>An entry held: <c>UntilTick</c> is <c>Until</c> on <see cref="Environment.TickCount64"/>, shortened by its resolution so it never outlasts it.</summary>
    /// <summary>A write of this instance in flight, and the version it makes (an object, so only its own writer removes it).</summary>
    private sealed record OwnWrite(long Version);

    private sealed record Held(StateEntry Entry, DateTimeOffset ReadAt, DateTimeOffset Until, int Size, long UntilTick);
}
