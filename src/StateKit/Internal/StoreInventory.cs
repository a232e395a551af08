namespace StateKit.Internal;

/// <summary>Every live entry key and list of a store under a prefix, sorted by key (ordinal): what export, copy and verify walk.</summary>
/// <param name="Entries">The entry keys, sorted.</param>
/// <param name="Lists">The lists, sorted by key.</param>
internal sealed record StoreInventory(IReadOnlyList<string> Entries, IReadOnlyList<StateListInfo> Lists)
{
    /// <summary>Reads the inventory.</summary>
    /// <param name="store">The store.</param>
    /// <param name="prefix">The key prefix.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The inventory.</returns>
    /// <exception cref="NotSupportedException">The store cannot name its lists (a custom store without <see cref="IStateListCatalog"/>).</exception>
    public static async Task<StoreInventory> ReadAsync(IStateStore store, string prefix, CancellationToken cancellationToken)
    {
        var catalog = store.GetService<IStateListCatalog>()
            ?? throw new NotSupportedException($"The '{store.Name}' store cannot name its lists (it does not provide IStateListCatalog), so it cannot be walked whole.");
        var entries = new List<string>();
        await foreach (var key in store.ListKeysAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            entries.Add(key);
        }

        var lists = new List<StateListInfo>();
        await foreach (var list in catalog.ListListsAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            lists.Add(list);
        }

        entries.Sort(StringComparer.Ordinal);
        lists.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new StoreInventory(entries, lists);
    }

    /// <summary>The scopes (shards: a session, an agent, a workspace…) the inventory's keys belong to, with how many entries and lists each holds, sorted.</summary>
    /// <returns>The scopes.</returns>
    public IReadOnlyList<(string Scope, int Entries, int Lists)> Scopes() =>
        Entries.Select(k => (Shard: StoreKeyLayout.ShardOf(k), List: false))
            .Concat(Lists.Select(l => (Shard: StoreKeyLayout.ShardOf(l.Key), List: true)))
            .GroupBy(s => s.Shard, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, g.Count(s => !s.List), g.Count(s => s.List)))
            .ToList();
}

/// <summary>Reads many entries a batch at a time (<see cref="IStateStore.GetManyAsync"/>: one query on the SQL stores, one pipelined round trip on Redis, a cluster's shards included).</summary>
internal static class StoreReads
{
    /// <summary>How many keys one batch reads.</summary>
    public const int Window = 500;

    /// <summary>Reads the entries of <paramref name="keys"/>; a missing or expired key has no entry in the answer.</summary>
    /// <param name="store">The store.</param>
    /// <param name="keys">The keys.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The entries found, by key.</returns>
    public static async Task<Dictionary<string, StateEntry>> ReadAllAsync(this IStateStore store, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, StateEntry>(StringComparer.Ordinal);
        foreach (var batch in keys.Distinct(StringComparer.Ordinal).Chunk(Window))
        {
            foreach (var (key, entry) in await store.GetManyAsync(batch, cancellationToken).ConfigureAwait(false))
            {
                found[key] = entry;
            }
        }

        return found;
    }
}
