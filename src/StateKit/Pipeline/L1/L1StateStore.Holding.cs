namespace StateKit;

/// <content>What the tier holds: stripes and generations, holding and dropping entries, the fail-safe, change notices and eviction.</content>
internal sealed partial class L1StateStore
{
    private static int StripeOf(string key) => (key.GetHashCode() & int.MaxValue) % Stripes;

    private long Generation(string key) => Volatile.Read(ref _generations[StripeOf(key)]);

    private StateEntry? TryGetHeld(string key, DateTimeOffset now)
    {
        if (key is null || _disposed || !_held.TryGetValue(key, out var held))
        {
            return null;
        }

        var live = held.Entry.ExpiresAt is not { } expires || expires > now;
        if (held.Until > now && live)
        {
            return held.Entry;
        }

        if (!live || _options.FailSafeMaxStaleness is not { } staleness || now - held.ReadAt > staleness)
        {
            Remove(key, held); // kept past its lifetime only as the fail-safe's fallback, and only as long as that
        }

        return null;
    }

    /// <summary>The fail-safe's answer for <paramref name="key"/>: a copy of the last value read, marked stale; <see langword="null"/> when there is none fit to serve.</summary>
    private StateEntry? FailSafe(string? key, DateTimeOffset now)
    {
        if (key is null || _disposed || _options.FailSafeMaxStaleness is not { } staleness || !_held.TryGetValue(key, out var held)
            || now - held.ReadAt > staleness || (held.Entry.ExpiresAt is { } expires && expires <= now))
        {
            return null;
        }

        var stale = new StateEntry(held.Entry.Key, held.Entry.Value, held.Entry.Version, held.Entry.ExpiresAt);
        _stale.AddOrUpdate(stale, held);
        return stale;
    }

    /// <summary>
    /// Whether entries may be held: with a change feed only once subscribed (so no notice is missed between a read and
    /// the subscription); without one, always (the lifetime bounds staleness).
    /// </summary>
    private async ValueTask<bool> CanHoldAsync(CancellationToken cancellationToken)
    {
        if (_feed is null || _subscribed)
        {
            return true;
        }

        if (Environment.TickCount64 < Volatile.Read(ref _retrySubscribeAt))
        {
            return false; // the feed failed a moment ago: read through without a subscribe attempt on every read
        }

        await _subscribing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_subscribed)
            {
                _subscription = await _feed.SubscribeAsync(string.Empty, OnChangeAsync, cancellationToken).ConfigureAwait(false);
                _subscribed = true;
            }

            return true;
        }
        catch (StateStoreException)
        {
            Volatile.Write(ref _retrySubscribeAt, Environment.TickCount64 + 1000);
            return false; // the feed is unreachable: read through, hold nothing, try again in a second
        }
        finally
        {
            _subscribing.Release();
        }
    }

    private ValueTask OnChangeAsync(StateStoreChange change, CancellationToken cancellationToken)
    {
        if (change.Kind == StateStoreChangeKind.Resync)
        {
            for (var i = 0; i < Stripes; i++)
            {
                Interlocked.Increment(ref _generations[i]);
            }

            foreach (var pair in _held)
            {
                if (_options.FailSafeMaxStaleness is null)
                {
                    Remove(pair.Key, pair.Value);
                }
                else
                {
                    // not answered any more, but kept as the fail-safe's fallback (the feed is likely down with the store)
                    _held.TryUpdate(pair.Key, pair.Value with { Until = DateTimeOffset.MinValue, UntilTick = long.MinValue }, pair.Value);
                }
            }
        }
        else if (change.Kind != StateStoreChangeKind.Set || !IsKnown(change))
        {
            Forget(change.Key);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Whether a set notice tells nothing new: the store's notice of this instance's own write in flight or of a version
    /// it replaces (an earlier update of a key updated back to back: the write in flight lands only over the version it
    /// expects, and if it fails the key is dropped anyway), or of a version no newer than the one held (versions only grow
    /// while a key lives; a delete is noticed before a key starts again).
    /// </summary>
    private bool IsKnown(StateStoreChange change) =>
        (_ownWrites.TryGetValue(change.Key, out var own) && change.Version <= own.Version)
        || (_held.TryGetValue(change.Key, out var held) && held.Entry.Version >= change.Version && held.UntilTick != long.MinValue);

    private void Hold(StateEntry entry, long generation, DateTimeOffset now)
    {
        var size = entry.Value.Length + entry.Key.Length * 2 + 64;
        if (size > _options.MaxBytes / 10)
        {
            DropOlderThan(entry);
            return;
        }

        if (Generation(entry.Key) != generation)
        {
            // The key changed while it was read: do not add this entry, which may be older than the change, but do not
            // keep one older than it either (held by a concurrent read meanwhile): a caller was just given this version,
            // and its next read must not go back to an earlier one (monotonic reads).
            DropOlderThan(entry);
            return;
        }

        var held = new Held(entry, now, now + _options.Lifetime, size, Environment.TickCount64 + _lifetimeTicks);

        // A read that began before this instance's own write ended keeps the newer entry held.
        _held.Set(entry.Key, old => old is not null && old.Entry.Version > held.Entry.Version && old.UntilTick != long.MinValue ? old : held);
        if (Generation(entry.Key) != generation)
        {
            Remove(entry.Key, held); // a change arrived while it was being added
        }

        if (_held.Count > _options.MaxEntries || _held.Bytes > _options.MaxBytes)
        {
            Evict();
        }
    }

    private void DropOlderThan(StateEntry entry)
    {
        if (_held.TryGetValue(entry.Key, out var older) && older.Entry.Version < entry.Version)
        {
            Remove(entry.Key, older);
        }
    }

    private void Evict()
    {
        if (!Monitor.TryEnter(_evicting))
        {
            return; // another thread is evicting
        }

        try
        {
            var entries = _options.MaxEntries - Math.Max(1, _options.MaxEntries / 10);
            var bytes = _options.MaxBytes - (_options.MaxBytes / 10);
            foreach (var pair in _held)
            {
                if (_held.Count <= entries && _held.Bytes <= bytes)
                {
                    break;
                }

                Remove(pair.Key, pair.Value);
            }
        }
        finally
        {
            Monitor.Exit(_evicting);
        }
    }

    private void Forget(string key)
    {
        if (key is null)
        {
            return;
        }

        Interlocked.Increment(ref _generations[StripeOf(key)]);
        _held.TryRemove(key, out _);
    }

    private void ForgetAll(IEnumerable<string> keys)
    {
        foreach (var key in keys)
        {
            Forget(key);
        }
    }

    private void Remove(string key, Held held)
    {
        _held.TryRemove(key, held);
    }
}
