using StateKit.Adapters;
using StateKit.Internal;

namespace StateKit;

/// <content>The flush: pending writes to the store in the background, version-preserving and idempotent, and the conflicts it finds.</content>
internal sealed partial class WriteBehindStateStore
{
    private async Task FlushLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(_options.FlushInterval, token).ConfigureAwait(false);
                await FlushOnceAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (StateStoreException ex)
            {
                Log.WriteBehindFlushFailed(_logger, ex, PendingCount);
                try
                {
                    await Task.Delay(_options.FlushInterval * 4, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Writes every dirty key to the store, many at a time, then gives up the journal segments that are all flushed.</summary>
    private async Task FlushOnceAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var dirty = _entries.Where(e => e.Value.Dirty).ToArray();
            StateStoreException? failure = null;
            await Parallel.ForEachAsync(dirty, new ParallelOptions { MaxDegreeOfParallelism = _options.FlushConcurrency, CancellationToken = cancellationToken }, async (pair, token) =>
            {
                try
                {
                    // Under the key's lock, and only what is still pending then: a version-preserving write or a touch
                    // (ThroughAsync) may have flushed this key and written past it meanwhile, and flushing the older
                    // snapshot afterwards would put it back over an expired newer version (found by the L1 +
                    // write-behind + PostgreSQL combination fixture).
                    using var held = await _locks.LockAsync(pair.Key, token).ConfigureAwait(false);
                    if (_entries.TryGetValue(pair.Key, out var current) && current.Dirty)
                    {
                        await FlushKeyAsync(pair.Key, current, token).ConfigureAwait(false);
                    }
                }
                catch (StateStoreException ex)
                {
                    failure = ex;
                }
            }).ConfigureAwait(false);

            var watermark = _entries.Values.Where(e => e.Dirty).Select(e => e.Seq).DefaultIfEmpty(Interlocked.Read(ref _seq) + 1).Min();
            _journal.Release(watermark);
            if (failure is not null)
            {
                throw failure;
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <summary>Writes one key's pending state to the store at its version (idempotent: a store already at that version is done).</summary>
    private async ValueTask FlushKeyAsync(string key, Pending pending, CancellationToken cancellationToken)
    {
        if (pending.Value is null)
        {
            var stored = await base.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (stored is not null && stored.Version <= Math.Max(pending.Version, pending.DeletedThrough))
            {
                try
                {
                    await base.DeleteAsync(key, stored.Version, cancellationToken).ConfigureAwait(false);
                }
                catch (StateConflictException)
                {
                    Conflict(key, pending.Version, stored.Version);
                }
            }
            else if (stored is not null)
            {
                Conflict(key, pending.Version, stored.Version);
            }
        }
        else if (pending.DeletedThrough > 0)
        {
            await FlushNewLifeAsync(key, pending, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await FlushAtVersionAsync(key, pending, cancellationToken).ConfigureAwait(false);
        }

        // Clean now, unless a newer write came meanwhile; a delete's record goes once flushed.
        var clean = pending with { Dirty = false, Value = KnownOnly, DeletedThrough = 0 };
        if (!(pending.Value is null ? _entries.TryRemove(key, pending) : _entries.TryUpdate(key, clean, pending)) && pending.DeletedThrough > 0)
        {
            // A newer write of the same life came meanwhile: the older lives are gone from the store now.
            while (_entries.TryGetValue(key, out var newer) && newer.Dirty && newer.DeletedThrough == pending.DeletedThrough && newer.Seq > pending.Seq
                && !_entries.TryUpdate(key, newer with { DeletedThrough = 0 }, newer))
            {
            }
        }

        Interlocked.Increment(ref _flushed);
        Metrics.RecordWriteBehindFlush(TimeSpan.FromMilliseconds(Environment.TickCount64 - pending.AcknowledgedAt));
    }

    /// <summary>
    /// Flushes the first write of a new life of the key (deleted, then written again, within one flush): what the store
    /// holds of the older lives (a version up to <see cref="Pending.DeletedThrough"/>) is deleted first, then the new life
    /// is written at its own version. Idempotent: a store already holding these bytes at this version (a replay after a
    /// crash that came after the flush) is left alone.
    /// </summary>
    private async ValueTask FlushNewLifeAsync(string key, Pending pending, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var stored = await base.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (stored is not null && stored.Version == pending.Version && stored.Value.Span.SequenceEqual(pending.Value))
            {
                return;
            }

            if (stored is not null && stored.Version > pending.DeletedThrough)
            {
                // A version the deleted lives never reached: this life's own earlier flush (the journal replayed after a
                // crash still holds the delete), so the usual version-preserving write decides, as for any other key.
                await FlushAtVersionAsync(key, pending, cancellationToken).ConfigureAwait(false);
                return;
            }

            try
            {
                if (stored is not null)
                {
                    await base.DeleteAsync(key, stored.Version, cancellationToken).ConfigureAwait(false);
                }

                if (await _target.SetAtVersionAsync(key, pending.Value, pending.Version, pending.ExpiresAt, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (StateConflictException)
            {
                // changed between the read and the delete: look again
            }

            if (attempt >= 3)
            {
                var current = (await base.GetAsync(key, cancellationToken).ConfigureAwait(false))?.Version ?? 0;
                Conflict(key, pending.Version, current);
                return;
            }
        }
    }

    /// <summary>Writes a pending value at its version; a store that holds the key at another, higher version is a conflict.</summary>
    private async ValueTask FlushAtVersionAsync(string key, Pending pending, CancellationToken cancellationToken)
    {
        if (!await _target.SetAtVersionAsync(key, pending.Value, pending.Version, pending.ExpiresAt, cancellationToken).ConfigureAwait(false)
            && (await base.GetAsync(key, cancellationToken).ConfigureAwait(false))?.Version is { } current && current != pending.Version)
        {
            Conflict(key, pending.Version, current);
        }
    }

    private void Conflict(string key, long version, long storeVersion)
    {
        Interlocked.Increment(ref _conflicts);
        Log.WriteBehindConflict(_logger, StateKeys.Printable(key), version, storeVersion);
        Metrics.RecordWriteBehindConflict();
    }
}
