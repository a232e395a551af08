using StateKit.Internal;

namespace StateKit;

/// <content>Replay: the journaled keys put back onto the recovered primary, conflicts, and the background probe.</content>
internal sealed partial class FallbackStateStore
{
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
                Metrics.RecordFallbackReplay();
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
        Metrics.RecordFallbackConflict();
        Notify(_options.OnConflict, Conflict, conflict);
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
}
