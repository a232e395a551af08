namespace StateKit;

/// <summary>
/// An ordered list of unique items that many writers add to and remove from (an observed-remove list): each item appears
/// once, in the order of its first live add (by timestamp, then replica id, then the add's tag, so every replica orders
/// alike); an add concurrent with a remove survives the merge, as in <see cref="ORSet{T}"/>. Removed adds are kept as
/// tombstones. Immutable.
/// </summary>
/// <typeparam name="T">The item type (compared with <see cref="EqualityComparer{T}.Default"/>).</typeparam>
public sealed class UniqueList<T> : IMergeable<UniqueList<T>>
    where T : notnull
{
    private HashSet<string>? _removed;

    /// <summary>Gets every add by its unique tag (for serialization).</summary>
    public IReadOnlyDictionary<string, UniqueListAdd<T>> Adds { get; init; } = new Dictionary<string, UniqueListAdd<T>>(StringComparer.Ordinal);

    /// <summary>Gets the tags of removed adds (for serialization).</summary>
    public IReadOnlyCollection<string> Removed { get; init; } = [];

    /// <summary>Gets the items, each once, in the order of their first live add.</summary>
    public IReadOnlyList<T> Items => Adds
        .Where(a => !RemovedTags.Contains(a.Key))
        .OrderBy(a => a.Value.Timestamp).ThenBy(a => a.Value.Replica, StringComparer.Ordinal).ThenBy(a => a.Key, StringComparer.Ordinal)
        .Select(a => a.Value.Item)
        .Distinct()
        .ToList();

    private HashSet<string> RemovedTags => _removed ??= ObservedRemove.AsSet(Removed);

    /// <summary>Adds <paramref name="item"/> at the end, unless it is in the list already.</summary>
    /// <param name="item">The item.</param>
    /// <param name="replica">The writer's id.</param>
    /// <param name="timestamp">The add's time (orders the list; for example Unix milliseconds).</param>
    /// <returns>The new list.</returns>
    public UniqueList<T> Add(T item, string replica, long timestamp)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentException.ThrowIfNullOrEmpty(replica);
        if (Adds.Any(a => !RemovedTags.Contains(a.Key) && EqualityComparer<T>.Default.Equals(a.Value.Item, item)))
        {
            return this;
        }

        return new UniqueList<T> { Adds = ObservedRemove.With(Adds, new UniqueListAdd<T>(item, timestamp, replica)), Removed = Removed };
    }

    /// <summary>Removes <paramref name="item"/>: every add of it this replica has seen.</summary>
    /// <param name="item">The item.</param>
    /// <returns>The new list.</returns>
    public UniqueList<T> Remove(T item) =>
        new() { Adds = Adds, Removed = ObservedRemove.Tombstone(Adds, RemovedTags, a => EqualityComparer<T>.Default.Equals(a.Item, item)) };

    /// <inheritdoc />
    public UniqueList<T> Merge(UniqueList<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var (adds, removed) = ObservedRemove.Merge(Adds, RemovedTags, other.Adds, other.RemovedTags);
        return new UniqueList<T> { Adds = adds, Removed = removed };
    }
}

/// <summary>One add of a <see cref="UniqueList{T}"/>.</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <param name="Item">The item.</param>
/// <param name="Timestamp">The add's time.</param>
/// <param name="Replica">The writer's id.</param>
public sealed record UniqueListAdd<T>(T Item, long Timestamp, string Replica);
