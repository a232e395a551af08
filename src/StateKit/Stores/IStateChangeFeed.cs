namespace StateKit;

/// <summary>
/// Tells subscribers about changes to a store's entries and lists, across processes where the backend can. A separate
/// capability, found through <see cref="IStateStore.GetService"/>: a store that cannot publish changes does not implement
/// it, and callers that need changes ask for it and fall back (for example to a shorter cache lifetime) when it is absent.
/// </summary>
/// <remarks>
/// <para>
/// Delivery is at least once and in order per key, but not across keys: a subscriber may see a notice twice, or a notice
/// for a change it has already read. <see cref="StateStoreChange.Version"/> lets it drop stale and duplicate notices.
/// </para>
/// <para>
/// When the feed may have missed notices (a lost connection, an overflowing queue) it delivers one
/// <see cref="StateStoreChangeKind.Resync"/> notice per subscription: everything under the prefix may have changed.
/// </para>
/// </remarks>
public interface IStateChangeFeed
{
    /// <summary>Starts delivering the changes of keys that start with <paramref name="prefix"/> to <paramref name="onChange"/>.</summary>
    /// <param name="prefix">The key prefix (the store's listing prefix rules); empty for every key.</param>
    /// <param name="onChange">
    /// Called for each change, one call at a time per subscription. An exception it throws is logged by the feed and does
    /// not end the subscription.
    /// </param>
    /// <param name="cancellationToken">A token that cancels the subscribing (not the subscription).</param>
    /// <returns>The subscription; disposing it stops the delivery.</returns>
    ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default);
}

/// <summary>What happened to a key (see <see cref="IStateChangeFeed"/>).</summary>
public enum StateStoreChangeKind
{
    /// <summary>An entry was written; <see cref="StateStoreChange.Version"/> is its version after.</summary>
    Set,

    /// <summary>An entry was deleted; <see cref="StateStoreChange.Version"/> is the version it had, or 0 when unknown.</summary>
    Delete,

    /// <summary>An entry or list expired; <see cref="StateStoreChange.Version"/> is the entry's last version, or 0 when unknown.</summary>
    Expire,

    /// <summary>Items were appended to a list; <see cref="StateStoreChange.Version"/> is its length after the append.</summary>
    ListAppend,

    /// <summary>A list was trimmed, deleted or had its expiry changed; <see cref="StateStoreChange.Version"/> is its length after.</summary>
    ListChange,

    /// <summary>Notices may have been missed: every key under the subscription's prefix may have changed. <see cref="StateStoreChange.Key"/> is the prefix.</summary>
    Resync,

    /// <summary>
    /// An entry's expiry changed without a write (a touch); <see cref="StateStoreChange.Version"/> is its version, which a
    /// touch leaves as it was. A cache holding the entry must drop it: its expiry is no longer the store's.
    /// </summary>
    Touch,
}

/// <summary>One notice of an <see cref="IStateChangeFeed"/>.</summary>
/// <param name="Key">The key that changed (for <see cref="StateStoreChangeKind.Resync"/>, the subscription's prefix).</param>
/// <param name="Kind">What happened.</param>
/// <param name="Version">The entry version, or the list length, after the change (see <see cref="StateStoreChangeKind"/>).</param>
public readonly record struct StateStoreChange(string Key, StateStoreChangeKind Kind, long Version);
