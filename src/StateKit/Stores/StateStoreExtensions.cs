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
        return store.GetService<IStateStoreCapabilities>()?.Capabilities ?? StateStoreCapabilities.None;
    }

    /// <summary>
    /// Asks the store pipeline for an object of type <typeparamref name="T"/> (see <see cref="IStateStore.GetService"/>):
    /// finds a backend or a capability however many decorators wrap it.
    /// </summary>
    /// <typeparam name="T">The type asked for.</typeparam>
    /// <param name="store">The outermost store.</param>
    /// <param name="serviceKey">An optional key; <see langword="null"/> for none.</param>
    /// <returns>The object, or <see langword="null"/> when the pipeline has none.</returns>
    public static T? GetService<T>(this IStateStore store, object? serviceKey = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.GetService(typeof(T), serviceKey) as T;
    }

    /// <summary>Asks the store pipeline for an object of type <typeparamref name="T"/> and fails when there is none.</summary>
    /// <typeparam name="T">The type asked for.</typeparam>
    /// <param name="store">The outermost store.</param>
    /// <returns>The object.</returns>
    /// <exception cref="InvalidOperationException">No store of the pipeline is or provides a <typeparamref name="T"/>.</exception>
    public static T GetRequiredService<T>(this IStateStore store)
        where T : class
        => store.GetService<T>() ?? throw new InvalidOperationException($"The '{store.Name}' store pipeline has no {typeof(T).Name}.");

    /// <summary>Appends one item to a list, creating it when missing.</summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The list key.</param>
    /// <param name="item">The item; the store keeps its own copy.</param>
    /// <param name="timeToLive">The list's time to live (see <see cref="IStateStore.ListAppendAsync"/>): <see langword="null"/> for the store's default, <see cref="StateTimeToLive.KeepCurrent"/> to keep the list's.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The length of the list after the append.</returns>
    public static ValueTask<long> ListAppendAsync(this IStateStore store, string key, ReadOnlyMemory<byte> item, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.ListAppendAsync(key, new[] { item }, timeToLive, cancellationToken);
    }
}
