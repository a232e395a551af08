using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using StateKit.Adapters;
using StateKit.Internal;

namespace StateKit;

/// <summary>
/// The embedded default <see cref="IStateStore"/>: everything in process memory, nothing survives a restart.
/// </summary>
/// <remarks>
/// Reads take no lock; writers of a key hold a striped lock and replace immutable entries whole, so concurrent
/// conditional writes never lose an update and a batch is atomic. Expiry is lazy (an expired entry is invisible at once) and purged from a heap
/// ordered by expiry, so a purge costs the number of due entries, not the number of entries.
/// </remarks>
public sealed partial class MemoryStateStore : IStateStore, IStateStoreCapabilities, IVersionPreservingStateStore, IStateListCatalog, IStateChangeFeed, Internal.IStateStoreBackend
{
    private const int OpportunisticPurgeBatch = 32;
    private readonly ConcurrentDictionary<string, Item> _entries = new(StringComparer.Ordinal);
    private readonly ExpiryQueue _expiry = new();
    private readonly StateStoreGuard _guard;
    private readonly object[] _stripes = Enumerable.Range(0, 64).Select(_ => new object()).ToArray();
    private readonly InProcessChangeFeed _feed = new();
    private int _compactionCheckAt = 1024;

    /// <summary>Initializes a new instance of the <see cref="MemoryStateStore"/> class.</summary>
    /// <param name="options">The store options; defaults when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock for expiry; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public MemoryStateStore(StateStoreOptions? options = null, TimeProvider? timeProvider = null)
    {
        _guard = new StateStoreGuard(Name, options ?? new StateStoreOptions(), timeProvider);
    }

    /// <inheritdoc />
    /// <remarks>Batches are atomic.</remarks>
    public StateStoreCapabilities Capabilities => StateStoreCapabilities.AtomicBatches;

    /// <inheritdoc />
    Adapters.StateStoreGuard Internal.IStateStoreBackend.Guard => _guard;

    /// <inheritdoc />
    public string Name => "memory";

    /// <summary>Gets the number of entries held, including expired ones not yet purged.</summary>
    internal int RawEntryCount => _entries.Count;

    /// <summary>Gets the number of scheduled expiry checks, stale ones included.</summary>
    internal int ScheduledExpiryCount => _expiry.Count;

    private long NowTicks => _guard.TimeProvider.GetUtcNow().UtcTicks;

    /// <summary>
    /// Removes the entry if it is still at <paramref name="version"/>, telling no subscriber: the entry moves to a spill
    /// directory (<see cref="SpillingStateStore"/>); for its readers it has not changed.
    /// </summary>
    internal bool RemoveMoved(string key, long version)
    {
        lock (_stripes[StripeOf(key)])
        {
            return _entries.TryGetValue(key, out var current) && current.Version == version && _entries.TryRemove(new KeyValuePair<string, Item>(key, current));
        }
    }

    /// <summary>Puts back an entry <see cref="RemoveMoved"/> took out, with its version and expiry, telling no subscriber; false when the key is live again.</summary>
    internal bool RestoreMoved(string key, byte[] value, long version, DateTimeOffset? expiresAt)
    {
        var ticks = ToTicks(expiresAt);
        lock (_stripes[StripeOf(key)])
        {
            if (TryGetLive(key, out _))
            {
                return false;
            }

            _entries[key] = new Item(value, version, ticks);
        }

        TrackExpiry(key, isList: false, ticks);
        return true;
    }

    /// <summary>Flips a byte of a stored value in place, as damaged memory would (tests of damage detection only).</summary>
    internal bool DamageValueForTest(string key)
    {
        if (!_entries.TryGetValue(key, out var item) || item.Value.Length == 0)
        {
            return false;
        }

        item.Value[item.Value.Length / 2] ^= 0x5A;
        return true;
    }

    /// <summary>Every value and list item as held, keyed by its state key (tests that look for plaintext at rest only).</summary>
    internal IEnumerable<(string Key, byte[] Bytes)> StoredBytesForTest()
    {
        foreach (var (key, item) in _entries)
        {
            yield return (key, item.Value);
        }

        foreach (var (key, list) in _lists)
        {
            byte[][] items;
            lock (list)
            {
                items = [.. list.Items];
            }

            foreach (var bytes in items)
            {
                yield return (key, bytes);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Get");
        return new(TryGetLive(key, out var item) ? item.ToEntry(key) : null);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        var distinct = _guard.ValidateDistinctKeys(keys, "GetMany");
        var result = new Dictionary<string, StateEntry>(distinct.Count, StringComparer.Ordinal);
        foreach (var key in distinct)
        {
            if (TryGetLive(key, out var item))
            {
                result[key] = item.ToEntry(key);
            }
        }

        return new(result);
    }

    /// <inheritdoc />
    public ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateWrite(key, value, options, "Set");
        var version = Write(key, value.ToArray(), options, "Set");
        _feed.Publish(key, StateStoreChangeKind.Set, version);
        return new(version);
    }

    /// <inheritdoc />
    /// <remarks>The batch is atomic: every condition is checked under the locks of all its keys before anything is written.</remarks>
    public ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateBatch(writes, "SetMany");
        var stripes = new int[writes.Count];
        for (var i = 0; i < stripes.Length; i++)
        {
            stripes[i] = StripeOf(writes[i].Key);
        }

        Array.Sort(stripes);
        var items = new Item[writes.Count];
        var versions = new long[writes.Count];
        for (var i = 0; i < stripes.Length; i++)
        {
            if (i == 0 || stripes[i] != stripes[i - 1])
            {
                Monitor.Enter(_stripes[stripes[i]]);
            }
        }

        try
        {
            var plans = _guard.PlanBatch(writes, key => TryGetLive(key, out var item) ? new StateWritePlan(item.Version, FromTicks(item.ExpiresAt)) : default, "SetMany");
            for (var i = 0; i < writes.Count; i++)
            {
                items[i] = new Item(writes[i].Value.ToArray(), plans[i].Version, ToTicks(plans[i].ExpiresAt));
                versions[i] = plans[i].Version;
                _entries[writes[i].Key] = items[i];
            }
        }
        finally
        {
            for (var i = 0; i < stripes.Length; i++)
            {
                if (i == 0 || stripes[i] != stripes[i - 1])
                {
                    Monitor.Exit(_stripes[stripes[i]]);
                }
            }
        }

        for (var i = 0; i < writes.Count; i++)
        {
            TrackExpiry(writes[i].Key, isList: false, items[i].ExpiresAt);
            _feed.Publish(writes[i].Key, StateStoreChangeKind.Set, versions[i]);
        }

        return new(versions);
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Delete");
        _guard.ValidateDeleteVersion(expectedVersion);
        lock (_stripes[StripeOf(key)])
        {
            var live = TryGetLive(key, out var current);
            if (expectedVersion is { } expected && (!live || current!.Version != expected))
            {
                throw new StateConflictException(Name, "Delete", key, expected, live ? current!.Version : 0);
            }

            var deleted = _entries.TryRemove(key, out _) && live;
            if (deleted)
            {
                _feed.Publish(key, StateStoreChangeKind.Delete, current!.Version);
            }

            return new(deleted);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Exists");
        return new(TryGetLive(key, out _));
    }

    /// <inheritdoc />
    public ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Touch");
        StateStoreGuard.ValidateTimeToLive(timeToLive);
        long expiresAt;
        lock (_stripes[StripeOf(key)])
        {
            if (!TryGetLive(key, out var current))
            {
                return new(false);
            }

            expiresAt = ToTicks(_guard.ExpiryFrom(timeToLive));
            _entries[key] = new Item(current.Value, current.Version, expiresAt);
            _feed.Publish(key, StateStoreChangeKind.Touch, current.Version);
        }

        TrackExpiry(key, isList: false, expiresAt);
        return new(true);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListKeysAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _guard.ValidatePrefix(prefix, "ListKeys");
        _guard.Enter(cancellationToken);
        await Task.CompletedTask.ConfigureAwait(false);
        var now = NowTicks;
        foreach (var pair in _entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (pair.Key.StartsWith(prefix, StringComparison.Ordinal) && pair.Value.ExpiresAt > now)
            {
                yield return pair.Key;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        return new(Purge(int.MaxValue));
    }

    /// <inheritdoc />
    public ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        var ticks = ToTicks(_guard.ValidateVersionedWrite(key, value, version, expiresAt, "SetAtVersion"));
        var item = new Item(value.ToArray(), version, ticks);
        lock (_stripes[StripeOf(key)])
        {
            if (TryGetLive(key, out var current) && current.Version >= version)
            {
                return new(false);
            }

            _entries[key] = item;
        }

        TrackExpiry(key, isList: false, ticks);
        _feed.Publish(key, StateStoreChangeKind.Set, version);
        return new(true);
    }

    /// <inheritdoc />
    /// <remarks>In process only: the memory store has no other process to tell. Notices are queued per subscription, never delivered under the store's locks.</remarks>
    public ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default)
    {
        _guard.ValidatePrefix(prefix, "Subscribe");
        return _feed.SubscribeAsync(prefix, onChange, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _guard.MarkDisposed();
        _entries.Clear();
        _lists.Clear();
        return ValueTask.CompletedTask;
    }

    private static long ToTicks(DateTimeOffset? expiresAt) => expiresAt?.UtcTicks ?? long.MaxValue;

    private static DateTimeOffset? FromTicks(long expiresAt) => expiresAt == long.MaxValue ? null : new DateTimeOffset(expiresAt, TimeSpan.Zero);

    private long Write(string key, byte[] value, StateWriteOptions options, string operation)
    {
        var expiresAt = ToTicks(_guard.ResolveExpiry(options.TimeToLive));
        Item next;
        lock (_stripes[StripeOf(key)])
        {
            var liveVersion = TryGetLive(key, out var current) ? current.Version : 0;
            if (options.ExpectedVersion is { } expected && expected != liveVersion)
            {
                throw new StateConflictException(Name, operation, key, expected, liveVersion);
            }

            if (liveVersion > 0 && StateStoreGuard.KeepsExpiry(options.TimeToLive))
            {
                expiresAt = current!.ExpiresAt;
            }

            next = new Item(value, liveVersion + 1, expiresAt);
            _entries[key] = next;
        }

        TrackExpiry(key, isList: false, expiresAt);
        return next.Version;
    }

    /// <summary>
    /// Writers of a key hold its stripe's lock (a batch holds the stripes of all its keys, taken in ascending order), so a
    /// batch checks every condition and applies every write with no other writer in between. Readers take no lock: an
    /// entry is an immutable object replaced whole. A purge removes only the exact expired object it saw.
    /// </summary>
    private int StripeOf(string key) => (StringComparer.Ordinal.GetHashCode(key) & int.MaxValue) % _stripes.Length;

    private bool TryGetLive(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Item? item) =>
        _entries.TryGetValue(key, out item) && IsLive(item);

    /// <summary>Reads the clock only for an entry that can expire: most entries never do, and the clock is a system call's worth.</summary>
    private bool IsLive(Item item) => item.ExpiresAt == long.MaxValue || item.ExpiresAt > NowTicks;

    private void TrackExpiry(string key, bool isList, long expiresAt)
    {
        if (expiresAt != long.MaxValue && _expiry.Add(key, isList, expiresAt) > Volatile.Read(ref _compactionCheckAt))
        {
            // Touches and rewrites leave stale checks behind; rebuild so the heap stays proportional to the entries.
            // ConcurrentDictionary.Count takes every lock of the dictionary, so it is read only when the heap has
            // grown past the limit computed last time, not on every write (it was 40 % of a session create).
            var limit = (2 * (_entries.Count + _lists.Count)) + 1024;
            if (_expiry.Count > limit)
            {
                _expiry.Reset(ScheduledExpiries());
            }

            Volatile.Write(ref _compactionCheckAt, limit);
        }

        if (_expiry.AnyDue(_guard.TimeProvider))
        {
            Purge(OpportunisticPurgeBatch);
        }
    }

    private long Purge(int max)
    {
        var now = NowTicks;
        long removed = 0;
        foreach (var (key, isList) in _expiry.TakeDue(now, max))
        {
            if (isList ? RemoveExpiredList(key, now) : RemoveExpiredEntry(key, now))
            {
                removed++;
            }
        }

        return removed;
    }

    private bool RemoveExpiredEntry(string key, long now)
    {
        if (!_entries.TryGetValue(key, out var item))
        {
            return false;
        }

        if (item.ExpiresAt > now)
        {
            Reschedule(key, isList: false, item.ExpiresAt);
            return false;
        }

        if (!_entries.TryRemove(new KeyValuePair<string, Item>(key, item)))
        {
            return false;
        }

        _feed.Publish(key, StateStoreChangeKind.Expire, item.Version);
        return true;
    }

    /// <summary>A check came due for an entry whose expiry has since moved: check again at its current expiry.</summary>
    private void Reschedule(string key, bool isList, long expiresAt)
    {
        if (expiresAt != long.MaxValue)
        {
            _expiry.Add(key, isList, expiresAt);
        }
    }

    private IEnumerable<(string Key, bool IsList, long ExpiresAt)> ScheduledExpiries() =>
        _entries.Where(e => e.Value.ExpiresAt != long.MaxValue).Select(e => (e.Key, false, e.Value.ExpiresAt))
            .Concat(_lists.Select(l => (l.Key, true, Volatile.Read(ref l.Value.ExpiresAtField))).Where(l => l.Item3 != long.MaxValue));

    /// <summary>An immutable stored entry; replaced whole on every write so readers never see a torn value.</summary>
    private sealed class Item(byte[] value, long version, long expiresAt)
    {
        public byte[] Value { get; } = value;

        public long Version { get; } = version;

        public long ExpiresAt { get; } = expiresAt;

        public StateEntry ToEntry(string key) =>
            new(key, Value, Version, ExpiresAt == long.MaxValue ? null : new DateTimeOffset(ExpiresAt, TimeSpan.Zero));
    }
}
