namespace StateKit.Internal;

/// <summary>
/// The sessions one instance has created or used: an expiry heap (cleanup costs what is due, not what is known) and a
/// least-recently-used list (for <see cref="SessionOptions.MaxSessions"/>). Thread-safe; it never touches the store.
/// </summary>
internal sealed class SessionTracker
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Tracked> _known = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _lru = new();
    private readonly ExpiryQueue _expiry = new();

    /// <summary>Gets the number of sessions tracked.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _known.Count;
            }
        }
    }

    /// <summary>Gets the number of pending expiry checks, stale ones included (for tests).</summary>
    public int ScheduledChecks => _expiry.Count;

    /// <summary>
    /// Tracks a session about to be written; it counts towards the limit but is not yet evictable. With
    /// <paramref name="refuseAt"/> (above 0), a session that would make more than that many is refused instead.
    /// </summary>
    /// <returns>Whether the session was reserved.</returns>
    public bool Reserve(string sessionId, string scopeId, DateTimeOffset expiresAt, int refuseAt = 0)
    {
        lock (_gate)
        {
            if (refuseAt > 0 && _known.Count >= refuseAt)
            {
                return false;
            }

            Track(sessionId, scopeId, expiresAt);
            _known[sessionId].Pending = true;
            return true;
        }
    }

    /// <summary>Marks a session written and, past <paramref name="maxSessions"/>, takes the least recently used written ones to evict.</summary>
    public List<(string Id, string ScopeId)> Written(string sessionId, int maxSessions)
    {
        var victims = new List<(string, string)>();
        lock (_gate)
        {
            if (_known.TryGetValue(sessionId, out var written))
            {
                written.Pending = false;
            }

            // Sessions never used after the request that created them go first (a flood of new sessions evicts its own),
            // then the least recently used.
            foreach (var neverUsedAgain in new[] { true, false })
            {
                for (var node = _lru.Last; maxSessions > 0 && _known.Count > maxSessions && node is not null;)
                {
                    var previous = node.Previous;
                    var tracked = _known[node.Value];
                    if (!tracked.Pending && (!neverUsedAgain || !tracked.UsedAgain))
                    {
                        victims.Add((node.Value, tracked.ScopeId));
                        Forget(node.Value);
                    }

                    node = previous;
                }
            }
        }

        return victims;
    }

    /// <summary>Records a session's current expiry (and, unless told otherwise, that it was just used).</summary>
    public void Track(string id, string scopeId, DateTimeOffset expiresAt, bool touchLru = true)
    {
        var ticks = expiresAt.UtcTicks;
        bool schedule;
        lock (_gate)
        {
            if (_known.TryGetValue(id, out var tracked))
            {
                if (touchLru)
                {
                    _lru.Remove(tracked.Node);
                    _lru.AddFirst(tracked.Node);
                    tracked.UsedAgain |= !tracked.Pending;
                }

                tracked.ExpiresAtTicks = ticks;
            }
            else
            {
                tracked = _known[id] = new Tracked(scopeId, _lru.AddFirst(id), ticks);
            }

            // A session's expiry mostly moves later (every update or refresh). The heap keeps one check per session,
            // at its earliest expiry; when that check comes due, TakeDue moves it to the current expiry. So an
            // update adds a check only when the expiry moved earlier (or none is pending).
            schedule = ticks < tracked.ScheduledTicks && ticks != DateTimeOffset.MaxValue.UtcTicks;
            if (schedule)
            {
                tracked.ScheduledTicks = ticks;
            }
        }

        if (schedule)
        {
            _expiry.Add(id, isList: false, ticks);
        }
    }

    /// <summary>Stops tracking a session.</summary>
    public void Forget(string id)
    {
        lock (_gate)
        {
            if (_known.Remove(id, out var tracked))
            {
                _lru.Remove(tracked.Node);
            }
        }
    }

    /// <summary>
    /// Takes the sessions whose tracked expiry has passed, to be checked against the store; a session used again since
    /// its check was scheduled is rescheduled at its current expiry instead. Empty when nothing is due.
    /// </summary>
    public List<(string Id, string ScopeId)> TakeDue(long nowTicks)
    {
        var expired = new List<(string Id, string ScopeId)>();
        while (expired.Count == 0)
        {
            var due = _expiry.TakeDue(nowTicks, 1000);
            if (due.Count == 0)
            {
                break;
            }

            foreach (var (id, _) in due)
            {
                long? checkAgainAt = null;
                lock (_gate)
                {
                    if (!_known.TryGetValue(id, out var tracked) || tracked.ScheduledTicks > nowTicks)
                    {
                        continue; // stale: deleted, or a later check is already pending
                    }

                    if (tracked.ExpiresAtTicks > nowTicks)
                    {
                        checkAgainAt = tracked.ScheduledTicks = tracked.ExpiresAtTicks;
                    }
                    else
                    {
                        tracked.ScheduledTicks = long.MaxValue; // this check is used up; Track schedules the next one
                        expired.Add((id, tracked.ScopeId));
                    }
                }

                if (checkAgainAt is { } at)
                {
                    _expiry.Add(id, isList: false, at);
                }
            }
        }

        return expired;
    }

    /// <summary>Rebuilds the heap when deleted sessions and expiries that moved earlier left more stale checks than live sessions.</summary>
    public void Compact()
    {
        List<(string, bool, long)> live;
        lock (_gate)
        {
            if (_expiry.Count <= (2 * _known.Count) + 1024)
            {
                return;
            }

            live = [];
            foreach (var (id, tracked) in _known)
            {
                tracked.ScheduledTicks = tracked.ExpiresAtTicks;
                if (tracked.ExpiresAtTicks != DateTimeOffset.MaxValue.UtcTicks)
                {
                    live.Add((id, false, tracked.ExpiresAtTicks));
                }
            }
        }

        _expiry.Reset(live);
    }

    private sealed class Tracked(string scopeId, LinkedListNode<string> node, long expiresAtTicks)
    {
        public string ScopeId { get; } = scopeId;

        public LinkedListNode<string> Node { get; } = node;

        public long ExpiresAtTicks { get; set; } = expiresAtTicks;

        /// <summary>Gets or sets a value indicating whether the session is being created and not yet written (never evicted then).</summary>
        public bool Pending { get; set; }

        /// <summary>Gets or sets a value indicating whether the session was used after it was created (evicted after those that were not).</summary>
        public bool UsedAgain { get; set; }

        /// <summary>Gets or sets when the pending expiry check in the heap is due; <see cref="long.MaxValue"/> when none is.</summary>
        public long ScheduledTicks { get; set; } = long.MaxValue;
    }
}
