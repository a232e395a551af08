namespace StateKit.Internal;

/// <summary>
/// A min-heap of (expiry, key) so that purging touches only what is due instead of scanning every entry.
/// Stale items (the entry was rewritten, touched or deleted since) are skipped by the caller's check.
/// </summary>
internal sealed class ExpiryQueue
{
    private readonly PriorityQueue<(string Key, bool IsList), long> _heap = new();
    private readonly object _gate = new();
    private long _nextDue = long.MaxValue;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _heap.Count;
            }
        }
    }

    /// <summary>Schedules a check of <paramref name="key"/> at <paramref name="expiresAtTicks"/>.</summary>
    /// <returns>The number of scheduled checks, stale ones included.</returns>
    public int Add(string key, bool isList, long expiresAtTicks)
    {
        lock (_gate)
        {
            _heap.Enqueue((key, isList), expiresAtTicks);
            if (expiresAtTicks < _nextDue)
            {
                Volatile.Write(ref _nextDue, expiresAtTicks);
            }

            return _heap.Count;
        }
    }

    /// <summary>Replaces every scheduled check, dropping the stale ones that touches and rewrites leave behind.</summary>
    public void Reset(IEnumerable<(string Key, bool IsList, long ExpiresAt)> live)
    {
        var items = live.Select(i => ((i.Key, i.IsList), i.ExpiresAt)).ToList();
        lock (_gate)
        {
            _heap.Clear();
            _heap.EnqueueRange(items);
            Volatile.Write(ref _nextDue, _heap.TryPeek(out _, out var next) ? next : long.MaxValue);
        }
    }

    /// <summary>Cheap lock-free check whether anything may be due.</summary>
    public bool AnyDue(TimeProvider time)
    {
        // The clock is read only when something is scheduled at all.
        var next = Volatile.Read(ref _nextDue);
        return next != long.MaxValue && next <= time.GetUtcNow().UtcTicks;
    }

    /// <summary>Takes up to <paramref name="max"/> items whose expiry is at or before <paramref name="nowTicks"/>.</summary>
    public List<(string Key, bool IsList)> TakeDue(long nowTicks, int max)
    {
        var due = new List<(string Key, bool IsList)>();
        lock (_gate)
        {
            while (due.Count < max && _heap.TryPeek(out var item, out var at) && at <= nowTicks)
            {
                _heap.Dequeue();
                due.Add(item);
            }

            Volatile.Write(ref _nextDue, _heap.TryPeek(out _, out var next) ? next : long.MaxValue);
        }

        return due;
    }
}
