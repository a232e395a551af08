namespace StateKit.Internal;

/// <summary>
/// The top of the key layout StateKit writes into a store, in one place (the parts below each top segment are kept by
/// <see cref="ScopeKeys"/>, <see cref="SessionKeys"/> and the agents' keys):
/// <list type="bullet">
/// <item><c>{tier}/{owner}/…</c>: a provider scope (<c>local</c>, <c>shared</c>, <c>session</c>, <c>persistent</c>, <c>global</c>);</item>
/// <item><c>sessions/{name}/{id}</c> and <c>session-scopes/{name}/{scope}</c>: session records and scope owners, tier Session;</item>
/// <item><c>agents/…</c>: StateKit.Agents' saved sessions and workflow checkpoints, no tier (the default store).</item>
/// </list>
/// Tier routing (<see cref="TierOf"/>) reads the same segments. Changing a segment moves stored data: never do it
/// without a migration.
/// </summary>
internal static class StoreKeyLayout
{
    /// <summary>The top segment of session records.</summary>
    public const string SessionRecords = "sessions/";

    /// <summary>The top segment of session scope owners.</summary>
    public const string SessionScopes = "session-scopes/";

    /// <summary>The top segment of StateKit.Agents' keys.</summary>
    public const string Agents = "agents/";

    /// <summary>The key prefix of a provider scope: <c>{tier}/{owner}/</c>.</summary>
    /// <param name="tier">The tier.</param>
    /// <param name="ownerId">The owner id (already validated).</param>
    /// <returns>The prefix.</returns>
    public static string ScopePrefix(StateTier tier, string ownerId) => TierSegment(tier) + "/" + ownerId + "/";

    /// <summary>The tier a store key belongs to, from its first segment; <see langword="null"/> for a key of no tier.</summary>
    /// <param name="key">The store key.</param>
    /// <returns>The tier, or <see langword="null"/>.</returns>
    public static StateTier? TierOf(ReadOnlySpan<char> key)
    {
        var slash = key.IndexOf('/');
        if (slash < 0)
        {
            return null;
        }

        return key[..(slash + 1)] switch
        {
            "local/" => StateTier.Local,
            "shared/" => StateTier.Shared,
            "session/" or SessionRecords or SessionScopes => StateTier.Session,
            "persistent/" => StateTier.Persistent,
            "global/" => StateTier.Global,
            _ => null,
        };
    }

    /// <summary>
    /// The shard of a store key: keys of one shard must stay together where a store spreads keys over servers (the
    /// Redis store's hash-slot layout puts a shard in one hash slot), because StateKit writes them in one atomic batch.
    /// A provider scope (<c>{tier}/{owner}</c>) is a shard, so a conversation's values, history, index, lists,
    /// checkpoints and event streams stay together; a session's record and scope owner entry belong to its scope's
    /// shard (<c>session/{id}</c>); StateKit.Agents' keys shard by their third segment (a workflow's checkpoints and
    /// index together; a conversation's list and its prefix value together); any other key shards by its first two
    /// segments, or is a shard of its own when it has fewer.
    /// </summary>
    /// <param name="key">The store key (valid).</param>
    /// <returns>The shard.</returns>
    public static string ShardOf(string key)
    {
        if (key.StartsWith(SessionRecords, StringComparison.Ordinal) || key.StartsWith(SessionScopes, StringComparison.Ordinal))
        {
            // sessions/{name}/{id}, session-scopes/{name}/{scope}: the shard of StateScope.Session(id or scope).
            var name = key.IndexOf('/', key.IndexOf('/') + 1);
            if (name > 0 && name < key.Length - 1)
            {
                return "session/" + key[(name + 1)..];
            }
        }

        // agents/{kind}/{id}/… (a workflow's checkpoints, index and completion marker together), and
        // agents/agent-sessions/{agent}/{session}/… (each saved session of an agent a shard of its own).
        var segments = key.StartsWith(Agents, StringComparison.Ordinal) ? (key.AsSpan(Agents.Length).StartsWith("agent-sessions/") ? 4 : 3) : 2;
        var end = -1;
        for (var i = 0; i < segments; i++)
        {
            end = key.IndexOf('/', end + 1);
            if (end < 0)
            {
                return key;
            }
        }

        return key[..end];
    }

    private static string TierSegment(StateTier tier) => tier switch
    {
        StateTier.Local => "local",
        StateTier.Shared => "shared",
        StateTier.Session => "session",
        StateTier.Persistent => "persistent",
        StateTier.Global => "global",
        _ => throw new ArgumentOutOfRangeException(nameof(tier), tier, "Unknown tier."),
    };
}
