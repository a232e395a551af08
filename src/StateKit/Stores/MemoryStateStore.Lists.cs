using System.Collections.Concurrent;
using StateKit.Adapters;

namespace StateKit;

/// <content>Append-only lists.</content>
public sealed partial class MemoryStateStore
{
    private readonly ConcurrentDictionary<string, ListItem> _lists = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateAppend(key, items, timeToLive, "ListAppend");
        if (items.Count == 0)
        {
            return ListLengthAsync(key, cancellationToken);
        }

        var copies = new byte[items.Count][];
        for (var i = 0; i < copies.Length; i++)
        {
            copies[i] = items[i].ToArray();
        }

        while (true)
        {
            var list = _lists.GetOrAdd(key, static _ => new ListItem());
            long count;
            long expiresAt;
            lock (list)
            {
                if (list.Removed)
                {
                    continue;
                }

                var isNew = list.Items.Count == 0 || list.ExpiresAt <= NowTicks;
                if (isNew)
                {
                    list.Items.Clear();
                }

                if (isNew || !StateStoreGuard.KeepsExpiry(timeToLive))
                {
                    list.ExpiresAt = ToTicks(_guard.ResolveExpiry(timeToLive));
                }

                list.Items.AddRange(copies);
                count = list.Items.Count;
                expiresAt = list.ExpiresAt;
            }

            TrackExpiry(key, isList: true, expiresAt);
            _feed.Publish(key, StateStoreChangeKind.ListAppend, count);
            return new(count);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListRange");
        if (_lists.TryGetValue(key, out var list))
        {
            lock (list)
            {
                if (IsLive(list))
                {
                    var (offset, count) = StateListRange.Resolve(start, stop, list.Items.Count);
                    var result = new ReadOnlyMemory<byte>[count];
                    for (var i = 0; i < count; i++)
                    {
                        result[i] = list.Items[(int)offset + i];
                    }

                    return new(result);
                }
            }
        }

        return new(Array.Empty<ReadOnlyMemory<byte>>());
    }

    /// <inheritdoc />
    public ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListLength");
        if (_lists.TryGetValue(key, out var list))
        {
            lock (list)
            {
                return new(IsLive(list) ? list.Items.Count : 0);
            }
        }

        return new(0L);
    }

    /// <inheritdoc />
    public ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListTrim");
        if (_lists.TryGetValue(key, out var list))
        {
            lock (list)
            {
                if (IsLive(list))
                {
                    var (offset, count) = StateListRange.Resolve(start, stop, list.Items.Count);
                    list.Items.RemoveRange((int)(offset + count), list.Items.Count - (int)(offset + count));
                    list.Items.RemoveRange(0, (int)offset);
                    if (count == 0)
                    {
                        RemoveList(key, list);
                    }

                    _feed.Publish(key, StateStoreChangeKind.ListChange, count);
                    return new(count);
                }
            }
        }

        return new(0L);
    }

    /// <inheritdoc />
    public ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListDelete");
        if (_lists.TryGetValue(key, out var list))
        {
            lock (list)
            {
                var live = IsLive(list);
                RemoveList(key, list);
                if (live)
                {
                    _feed.Publish(key, StateStoreChangeKind.ListChange, 0);
                }

                return new(live);
            }
        }

        return new(false);
    }

    /// <inheritdoc />
    public ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListTouch");
        StateStoreGuard.ValidateTimeToLive(timeToLive);
        if (_lists.TryGetValue(key, out var list))
        {
            long expiresAt;
            lock (list)
            {
                if (!IsLive(list))
                {
                    return new(false);
                }

                list.ExpiresAt = expiresAt = ToTicks(_guard.ExpiryFrom(timeToLive));
                _feed.Publish(key, StateStoreChangeKind.ListChange, list.Items.Count);
            }

            TrackExpiry(key, isList: true, expiresAt);
            return new(true);
        }

        return new(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StateListInfo> ListListsAsync(string prefix = "", [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _guard.ValidatePrefix(prefix, "ListLists");
        _guard.Enter(cancellationToken);
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (var pair in _lists)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!pair.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            long expiresAt;
            lock (pair.Value)
            {
                if (!IsLive(pair.Value))
                {
                    continue;
                }

                expiresAt = pair.Value.ExpiresAt;
            }

            yield return new StateListInfo(pair.Key, FromTicks(expiresAt));
        }
    }

    private bool IsLive(ListItem list) => !list.Removed && list.Items.Count > 0 && list.ExpiresAt > NowTicks;

    private bool RemoveExpiredList(string key, long now)
    {
        if (!_lists.TryGetValue(key, out var list))
        {
            return false;
        }

        lock (list)
        {
            if (list.Removed)
            {
                return false;
            }

            if (list.ExpiresAt > now)
            {
                Reschedule(key, isList: true, list.ExpiresAt);
                return false;
            }

            RemoveList(key, list);
            return true;
        }
    }

    /// <summary>Removes a list; the caller holds its lock. A concurrent appender sees <see cref="ListItem.Removed"/> and retries on a new list.</summary>
    private void RemoveList(string key, ListItem list)
    {
        list.Removed = true;
        list.Items.Clear();
        _lists.TryRemove(new KeyValuePair<string, ListItem>(key, list));
    }

    /// <summary>One list; every access holds its own lock (there is no store-wide lock).</summary>
    private sealed class ListItem
    {
        public List<byte[]> Items { get; } = [];

        /// <summary>The expiry in UTC ticks; a field so the heap rebuild can read it without the list's lock.</summary>
        public long ExpiresAtField = long.MaxValue;

        public long ExpiresAt
        {
            get => ExpiresAtField;
            set => Volatile.Write(ref ExpiresAtField, value);
        }

        public bool Removed { get; set; }
    }
}
