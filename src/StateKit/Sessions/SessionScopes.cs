using System.Text;

namespace StateKit.Internal;

/// <summary>
/// Keeps a session's provider scope tied to the session whichever instance survives: every scope has an owner entry
/// naming the session ids that may use it, and a scope is cleared only when none of them is alive. Besides the
/// in-process expiry checks, a periodic sweep from any instance finds scopes whose sessions ended while no instance
/// was tracking them (a restart, a crash) and clears them.
/// </summary>
internal sealed class SessionScopes(IStateStore store, IStateProvider provider, SessionKeys keys)
{
    private Dictionary<string, long> _suspects = new(StringComparer.Ordinal);

    /// <summary>The owner entry written with a new session's record (in the same batch).</summary>
    public StateWrite OwnerWrite(string scopeId, string sessionId) =>
        new(keys.Owner(scopeId), Encode([sessionId]), new StateWriteOptions(0, Timeout.InfiniteTimeSpan));

    /// <summary>Adds a session id to a scope's owners (before a regenerated id is written); creates the entry of an older session that has none.</summary>
    /// <returns>The version of the owner entry written.</returns>
    public async ValueTask<long> AddOwnerAsync(string scopeId, string sessionId, int maxAttempts, CancellationToken cancellationToken) =>
        await ConflictRetry.RunAsync(maxAttempts, store.Name, "RegenerateId", keys.Owner(scopeId), async () =>
        {
            var entry = await store.GetAsync(keys.Owner(scopeId), cancellationToken).ConfigureAwait(false);
            var ids = entry is null ? [] : Decode(entry);
            return await store.SetAsync(keys.Owner(scopeId), Encode([.. ids, sessionId]), new StateWriteOptions(entry?.Version ?? 0, Timeout.InfiniteTimeSpan), cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>Leaves <paramref name="sessionId"/> the scope's only owner, unless the entry changed since <paramref name="version"/> (then it stays as it is: still safe).</summary>
    public async ValueTask SetOwnerAsync(string scopeId, string sessionId, long version, CancellationToken cancellationToken)
    {
        try
        {
            await store.SetAsync(keys.Owner(scopeId), Encode([sessionId]), new StateWriteOptions(version, Timeout.InfiniteTimeSpan), cancellationToken).ConfigureAwait(false);
        }
        catch (StateConflictException)
        {
            // Another regeneration added an id meanwhile; an extra owner only delays the scope's cleanup.
        }
    }

    /// <summary>Finds the live session that owns a scope, or <see langword="null"/> (no owner entry, or none of its sessions alive).</summary>
    public async ValueTask<(string Id, StateEntry Record)?> FindOwnerAsync(string scopeId, CancellationToken cancellationToken)
    {
        var owner = await store.GetAsync(keys.Owner(scopeId), cancellationToken).ConfigureAwait(false);
        if (owner is null)
        {
            return null;
        }

        var (key, record) = (await LiveRecordsAsync(owner, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        return record is null ? null : (key[keys.RecordPrefix.Length..], record);
    }

    /// <summary>Clears a scope and its owner entry (the session was deleted or evicted).</summary>
    public async ValueTask EndAsync(string scopeId, CancellationToken cancellationToken)
    {
        await provider.ClearScopeAsync(StateScope.Session(scopeId), cancellationToken).ConfigureAwait(false);
        await store.DeleteAsync(keys.Owner(scopeId), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Clears a scope whose session this instance saw expire, unless another of its owners is alive (the id was
    /// regenerated on another instance). A scope without an owner entry (written by an older version) is cleared.
    /// </summary>
    public async ValueTask EndIfOrphanedAsync(string scopeId, CancellationToken cancellationToken)
    {
        var owner = await store.GetAsync(keys.Owner(scopeId), cancellationToken).ConfigureAwait(false);
        if (owner is not null && (await LiveRecordsAsync(owner, cancellationToken).ConfigureAwait(false)).Count > 0)
        {
            return;
        }

        await provider.ClearScopeAsync(StateScope.Session(scopeId), cancellationToken).ConfigureAwait(false);
        if (owner is not null)
        {
            await DeleteOwnerAsync(scopeId, owner.Version, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Clears the scopes none of whose sessions is alive, in two passes: a scope found orphaned is cleared on the next
    /// sweep if its owner entry has not changed since (so a session being created or regenerated is never caught
    /// between its writes).
    /// </summary>
    /// <returns>The number of scopes cleared.</returns>
    public async ValueTask<int> SweepAsync(CancellationToken cancellationToken)
    {
        var suspects = new Dictionary<string, long>(StringComparer.Ordinal);
        var cleared = 0;
        var page = new List<string>(256);
        await foreach (var key in store.ListKeysAsync(keys.OwnerPrefix, cancellationToken).ConfigureAwait(false))
        {
            page.Add(key);
            if (page.Count == page.Capacity)
            {
                cleared += await SweepPageAsync(page, suspects, cancellationToken).ConfigureAwait(false);
                page.Clear();
            }
        }

        cleared += await SweepPageAsync(page, suspects, cancellationToken).ConfigureAwait(false);
        _suspects = suspects;
        return cleared;
    }

    private async ValueTask<int> SweepPageAsync(List<string> ownerKeys, Dictionary<string, long> suspects, CancellationToken cancellationToken)
    {
        if (ownerKeys.Count == 0)
        {
            return 0;
        }

        var owners = await store.GetManyAsync(ownerKeys, cancellationToken).ConfigureAwait(false);
        var sessionIds = owners.Values.SelectMany(Decode).Distinct(StringComparer.Ordinal).Select(keys.Record).ToArray();
        var alive = await store.GetManyAsync(sessionIds, cancellationToken).ConfigureAwait(false);
        var cleared = 0;
        foreach (var (key, owner) in owners)
        {
            if (Decode(owner).Any(id => alive.ContainsKey(keys.Record(id))))
            {
                continue;
            }

            var scopeId = key[keys.OwnerPrefix.Length..];
            if (!_suspects.TryGetValue(scopeId, out var seen) || seen != owner.Version)
            {
                suspects[scopeId] = owner.Version;
                continue;
            }

            await provider.ClearScopeAsync(StateScope.Session(scopeId), cancellationToken).ConfigureAwait(false);
            await DeleteOwnerAsync(scopeId, owner.Version, cancellationToken).ConfigureAwait(false);
            cleared++;
        }

        return cleared;
    }

    /// <summary>The live records of the sessions an owner entry names.</summary>
    private ValueTask<IReadOnlyDictionary<string, StateEntry>> LiveRecordsAsync(StateEntry owner, CancellationToken cancellationToken) =>
        store.GetManyAsync(Decode(owner).Select(keys.Record).ToArray(), cancellationToken);

    private async ValueTask DeleteOwnerAsync(string scopeId, long version, CancellationToken cancellationToken)
    {
        try
        {
            await store.DeleteAsync(keys.Owner(scopeId), version, cancellationToken).ConfigureAwait(false);
        }
        catch (StateConflictException)
        {
            // Changed meanwhile (a new owner was added): the next sweep looks at it again.
        }
    }

    private static byte[] Encode(IEnumerable<string> sessionIds) => Encoding.ASCII.GetBytes(string.Join('\n', sessionIds));

    private static string[] Decode(StateEntry owner) =>
        Encoding.ASCII.GetString(owner.Value.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
