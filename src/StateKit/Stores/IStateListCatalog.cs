namespace StateKit;

/// <summary>
/// Enumerates a store's lists by key prefix, with their expiry: what a tool that copies or checks a whole store
/// (export, migration, verification) needs, since <see cref="IStateStore.ListKeysAsync"/> lists entries only. Found
/// through <see cref="IStateStore.GetService"/>; the memory, file, SQLite, PostgreSQL and Redis stores provide it, and
/// the pipeline's layers forward it to the store under them.
/// </summary>
/// <remarks>
/// It names lists, it does not read them: read the items through the store (its layers decode what they encoded).
/// Lists go straight through every layer to the store, so the store's answer is the pipeline's.
/// </remarks>
public interface IStateListCatalog
{
    /// <summary>Streams the live lists whose key starts with <paramref name="prefix"/>, in no particular order.</summary>
    /// <param name="prefix">The key prefix; empty lists every list. Same character rules as <see cref="IStateStore.ListKeysAsync"/>.</param>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>Each live list once: its key and expiry. Lists written while the enumeration runs may or may not appear.</returns>
    /// <exception cref="InvalidStateKeyException">The prefix has characters a key may not have.</exception>
    IAsyncEnumerable<StateListInfo> ListListsAsync(string prefix = "", CancellationToken cancellationToken = default);
}

/// <summary>A list as <see cref="IStateListCatalog.ListListsAsync"/> names it.</summary>
/// <param name="Key">The list's key.</param>
/// <param name="ExpiresAt">When the list expires, or <see langword="null"/> when it does not.</param>
public readonly record struct StateListInfo(string Key, DateTimeOffset? ExpiresAt);
