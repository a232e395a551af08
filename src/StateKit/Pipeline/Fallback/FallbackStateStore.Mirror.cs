using System.Text.Json;
using StateKit.Internal;

namespace StateKit;

/// <content>Mirroring: the journal marker of an outage write and the copies of every write to the fallbacks.</content>
internal sealed partial class FallbackStateStore
{
    /// <summary>Records in fallback <paramref name="index"/> what <paramref name="key"/> looked like there before its first write of the outage.</summary>
    private async ValueTask JournalAsync(int index, string key, CancellationToken cancellationToken)
    {
        if (key is null || _journal[index].ContainsKey(key))
        {
            return;
        }

        var store = _stores[index];
        var mark = new JournalMark(key, (await store.GetAsync(key, cancellationToken).ConfigureAwait(false))?.Version ?? 0, await store.ListLengthAsync(key, cancellationToken).ConfigureAwait(false));
        try
        {
            await store.SetAsync(JournalKey(key), JsonSerializer.SerializeToUtf8Bytes(mark), StateWriteOptions.IfNotExists, cancellationToken).ConfigureAwait(false);
        }
        catch (StateConflictException)
        {
            // marked already (by an earlier run of this app): its mark is the older one, keep it
            mark = await ReadMarkAsync(store, JournalKey(key), cancellationToken).ConfigureAwait(false) ?? mark;
        }

        _journal[index][key] = mark;
    }

    private static async ValueTask<JournalMark?> ReadMarkAsync(IStateStore store, string journalKey, CancellationToken cancellationToken) =>
        await store.GetAsync(journalKey, cancellationToken).ConfigureAwait(false) is { } entry ? JsonSerializer.Deserialize<JournalMark>(entry.Value.Span) : null;

    /// <summary>
    /// Copies the written keys from the primary to each fallback: an entry with its version and expiry, a list by applying
    /// the same list operation (<paramref name="listWrite"/>) while the fallback's copy is in line. A copy that fails joins
    /// that fallback's backlog, copied whole later.
    /// </summary>
    private async ValueTask MirrorAsync<T>(IReadOnlyList<string> keys, Func<IStateStore, CancellationToken, ValueTask<T>>? listWrite, CancellationToken cancellationToken)
    {
        var entries = listWrite is null ? await _stores[0].GetManyAsync(keys.Distinct(StringComparer.Ordinal).ToArray(), cancellationToken).ConfigureAwait(false) : null;
        for (var f = 1; f < _stores.Length; f++)
        {
            foreach (var key in keys)
            {
                try
                {
                    if (entries is not null)
                    {
                        await CopyEntryAsync(_stores[f], key, entries.GetValueOrDefault(key), cancellationToken).ConfigureAwait(false);
                    }
                    else if (_backlog[f].ContainsKey(key))
                    {
                        await CopyAsync(_stores[0], _stores[f], key, isList: true, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await listWrite!(_stores[f], cancellationToken).ConfigureAwait(false);
                    }

                    _backlog[f].TryRemove(key, out _);
                }
                catch (Exception ex) when (ex is StateStoreException && !cancellationToken.IsCancellationRequested)
                {
                    _backlog[f][key] = listWrite is not null;
                    Log.FallbackCopyFailed(_logger, ex, _stores[f].Name, StateKit.Adapters.StateKeys.Printable(key));
                }
            }
        }
    }

    /// <summary>Makes <paramref name="to"/> hold what <paramref name="from"/> holds for <paramref name="key"/>: the entry (version and expiry kept) or the list.</summary>
    private async ValueTask CopyAsync(IStateStore from, IStateStore to, string key, bool isList, CancellationToken cancellationToken)
    {
        if (isList)
        {
            var items = await from.ListRangeAsync(key, 0, -1, cancellationToken).ConfigureAwait(false);
            await to.ListDeleteAsync(key, cancellationToken).ConfigureAwait(false);
            if (items.Count > 0)
            {
                await to.ListAppendAsync(key, items, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        await CopyEntryAsync(to, key, await from.GetAsync(key, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes <paramref name="to"/> hold <paramref name="entry"/> for <paramref name="key"/> (version and expiry kept), or nothing.</summary>
    private async ValueTask CopyEntryAsync(IStateStore to, string key, StateEntry? entry, CancellationToken cancellationToken)
    {
        if (entry is null)
        {
            await to.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        var target = to.GetService<IVersionPreservingStateStore>()!;
        if (await target.SetAtVersionAsync(key, entry.Value, entry.Version, entry.ExpiresAt, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var copy = await to.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (copy?.Version != entry.Version)
        {
            // the copy holds a higher version of an older life of the key (deleted and written again): replace it
            await to.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            await target.SetAtVersionAsync(key, entry.Value, entry.Version, entry.ExpiresAt, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await CopyExpiryAsync(to, copy, entry.ExpiresAt, cancellationToken).ConfigureAwait(false); // a touch: same version, new expiry
        }
    }

    /// <summary>
    /// Gives <paramref name="copy"/> (an entry of <paramref name="to"/> at the source's version) the source's expiry when a
    /// touch moved it: the version-preserving write refuses the same version, so the expiry is moved by a touch.
    /// </summary>
    private async ValueTask CopyExpiryAsync(IStateStore to, StateEntry copy, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        if (SameExpiry(copy.ExpiresAt, expiresAt))
        {
            return;
        }

        var timeToLive = expiresAt is { } at ? at - _time.GetUtcNow() : Timeout.InfiniteTimeSpan;
        if (timeToLive == Timeout.InfiniteTimeSpan || timeToLive > TimeSpan.Zero)
        {
            await to.TouchAsync(copy.Key, timeToLive, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await to.DeleteAsync(copy.Key, copy.Version, cancellationToken).ConfigureAwait(false); // expired at the source meanwhile
        }
    }

    /// <summary>Stores keep expiries to the millisecond (rounded up) and a copied touch lands a moment later: closer than that is the same.</summary>
    private static bool SameExpiry(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b is null : b is not null && (a.Value - b.Value).Duration() <= TimeSpan.FromMilliseconds(50);
}
