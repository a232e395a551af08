namespace StateKit;

/// <summary>Conveniences over <see cref="IStateStore"/>.</summary>
public static class StateStoreExtensions
{
    /// <summary>Gets what a store guarantees beyond the common contract.</summary>
    /// <param name="store">The store.</param>
    /// <returns>Its declared capabilities; <see cref="StateStoreCapabilities.None"/> when it declares none.</returns>
    public static StateStoreCapabilities GetCapabilities(this IStateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store is IStateStoreCapabilities declared ? declared.Capabilities : StateStoreCapabilities.None;
    }

    /// <summary>Appends one item to a list, creating it when missing.</summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The list key.</param>
    /// <param name="item">The item; the store keeps its own copy.</param>
    /// <param name="timeToLive">The list's new time to live, or <see langword="null"/> to keep its expiry.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The length of the list after the append.</returns>
    public static ValueTask<long> ListAppendAsync(this IStateStore store, string key, ReadOnlyMemory<byte> item, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.ListAppendAsync(key, new[] { item }, timeToLive, cancellationToken);
    }
}
