using StateKit.Internal;

namespace StateKit;

/// <content>The budget: byte accounting, least-recently-used order, spilling to and restoring from files.</content>
internal sealed partial class SpillingStateStore
{
    /// <summary>The result of a memory-store call, which always completes synchronously.</summary>
    private static T Sync<T>(ValueTask<T> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    private static int SizeOf(string key, int valueBytes) => valueBytes + (key.Length * 2) + EntryOverhead;

    private long NowTicks => _time.GetUtcNow().UtcTicks;

    private object LockOf(string key) => _locks[StripeOf(key)];

    private int StripeOf(string key) => (StringComparer.Ordinal.GetHashCode(key) & int.MaxValue) % _locks.Length;

    /// <summary>
    /// Whether a key the memory store did not have is surely absent: not spilled, and no move began or ended since the
    /// read started (a move puts an entry in its new place before it leaves the old one).
    /// </summary>
    private bool SurelyMissing(string key, long done, long active) =>
        !_spilled.ContainsKey(key) && active == 0 && Volatile.Read(ref _movesActive) == 0 && Volatile.Read(ref _movesDone) == done;

    private StateEntry? ReadMissed(string key)
    {
        StateEntry? entry;
        lock (LockOf(key))
        {
            entry = RestoreLocked(key);
        }

        SpillIfOver();
        return entry;
    }

    /// <summary>Runs a write on one key under its lock, after bringing the key back when it is spilled; spills if over budget.</summary>
    private T Write<T>(string key, Func<T> write)
    {
        if (key is null)
        {
            return write(); // the memory store refuses it
        }

        try
        {
            lock (LockOf(key))
            {
                if (_spilled.ContainsKey(key))
                {
                    RestoreLocked(key);
                }

                var written = false;
                try
                {
                    var result = write();
                    written = true;
                    return result;
                }
                finally
                {
                    AccountAfterWrite(key, written);
                }
            }
        }
        finally
        {
            SpillIfOver();
        }
    }

    private void Used(string key)
    {
        if (_resident.TryGetValue(key, out var resident))
        {
            Volatile.Write(ref resident.LastUse, Interlocked.Increment(ref _useClock));
        }
    }

    /// <summary>Brings <paramref name="key"/> back from its spill file when it is there; the caller holds the key's lock.</summary>
    private StateEntry? RestoreLocked(string key)
    {
        if (Sync(_memory.GetAsync(key)) is { } resident)
        {
            return resident;
        }

        if (!_spilled.TryGetValue(key, out var spilled))
        {
            return null;
        }

        if (spilled.ExpiresAtTicks <= NowTicks)
        {
            _spilled.TryRemove(key, out _);
            DeleteFile(spilled.Location);
            return null;
        }

        var value = _directory.Read(spilled.Location, key, spilled.Version);
        Interlocked.Increment(ref _movesActive);
        try
        {
            _memory.RestoreMoved(key, value, spilled.Version, spilled.ExpiresAtTicks == long.MaxValue ? null : new DateTimeOffset(spilled.ExpiresAtTicks, TimeSpan.Zero));
            _spilled.TryRemove(key, out _);
        }
        finally
        {
            Interlocked.Increment(ref _movesDone);
            Interlocked.Decrement(ref _movesActive);
        }

        DeleteFile(spilled.Location);
        Account(key);
        Interlocked.Increment(ref _restores);
        Metrics.RecordRestore();
        return Sync(_memory.GetAsync(key));
    }

    /// <summary>
    /// Accounts a key after a write, also one that failed (a conflict): an entry restored for it counts and may have to go
    /// again. A failed write of a key that is not resident (an invalid key) has nothing to account.
    /// </summary>
    private void AccountAfterWrite(string key, bool written)
    {
        if (written || _resident.ContainsKey(key))
        {
            Account(key);
        }
    }

    /// <summary>Records what <paramref name="key"/> now counts toward the budget; the caller holds the key's lock.</summary>
    private void Account(string key)
    {
        var entry = Sync(_memory.GetAsync(key));
        if (entry is null)
        {
            _resident.TryRemove(key, out _);
            return;
        }

        var size = SizeOf(key, entry.Value.Length);
        var resident = _resident.Set(key, old => old?.Size == size ? old : new Resident(size));
        Volatile.Write(ref resident.LastUse, Interlocked.Increment(ref _useClock));
    }

    /// <summary>Spills least recently used entries down to 95 % of the budget, one pass at a time (other writers wait for it).</summary>
    private void SpillIfOver()
    {
        if (SpillEverythingForTest)
        {
            lock (_spillGate)
            {
                SpillAllForTest();
            }

            return;
        }

        if (_resident.Bytes <= _budget)
        {
            return;
        }

        lock (_spillGate)
        {
            if (_resident.Bytes <= _budget)
            {
                return;
            }

            var candidates = _resident.Select(p => (p.Key, Volatile.Read(ref p.Value.LastUse))).ToArray();
            Array.Sort(candidates, static (a, b) => a.Item2.CompareTo(b.Item2));
            foreach (var (key, _) in candidates)
            {
                if (_resident.Bytes <= _lowWater)
                {
                    return;
                }

                try
                {
                    lock (LockOf(key))
                    {
                        SpillLocked(key);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Log.SpillFailed(_logger, ex, _directory.Path);
                    return; // the entries stay in memory, over the budget; the next write over it tries again
                }
            }
        }
    }

    /// <summary>Moves <paramref name="key"/> to a spill file; the caller holds the key's lock.</summary>
    private void SpillLocked(string key)
    {
        if (!_resident.TryGetValue(key, out var resident))
        {
            return;
        }

        var entry = Sync(_memory.GetAsync(key));
        if (entry is null)
        {
            Account(key); // expired or deleted meanwhile
            return;
        }

        var expires = entry.ExpiresAt?.UtcTicks ?? long.MaxValue;
        var location = _directory.Write(key, entry.Value.Span, entry.Version, expires);
        bool moved;
        Interlocked.Increment(ref _movesActive);
        try
        {
            _spilled[key] = new Spilled(location, entry.Version, expires);
            moved = _memory.RemoveMoved(key, entry.Version);
            if (!moved)
            {
                _spilled.TryRemove(key, out _); // the memory store's purge took it (expired): nothing to keep
            }
        }
        finally
        {
            Interlocked.Increment(ref _movesDone);
            Interlocked.Decrement(ref _movesActive);
        }

        if (!moved)
        {
            DeleteFile(location);
        }
        else
        {
            Interlocked.Increment(ref _spills);
            Metrics.RecordSpill();
        }

        _resident.TryRemove(key, resident);
    }

    private void DeleteFile(SpillLocation location)
    {
        try
        {
            _directory.Delete(location);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.SpillFailed(_logger, ex, _directory.Path); // a leftover file: removed with the directory
        }
    }

    /// <summary>A resident entry's size (fixed: a new size is a new instance) and last use.</summary>
    private sealed class Resident(int size)
    {
        public long LastUse;

        public int Size { get; } = size;
    }
}
