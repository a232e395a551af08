namespace StateKit;

/// <summary>
/// An observed-remove set: an element is in the set while some add of it has not been removed. A remove removes the
/// adds it has seen, so an add concurrent with a remove survives the merge (add wins). Removed adds are kept as
/// tombstones (their tags), so the value grows with every add; trim it by replacing the value when no replica is
/// behind. Immutable.
/// </summary>
/// <typeparam name="T">The element type (compared with <see cref="EqualityComparer{T}.Default"/>).</typeparam>
public sealed class ORSet<T> : IMergeable<ORSet<T>>
    where T : notnull
{
    private HashSet<string>? _removed;

    /// <summary>Gets every add by its unique tag (for serialization).</summary>
    public IReadOnlyDictionary<string, T> Adds { get; init; } = new Dictionary<string, T>(StringComparer.Ordinal);

    /// <summary>Gets the tags of removed adds (for serialization).</summary>
    public IReadOnlyCollection<string> Removed { get; init; } = [];

    /// <summary>Gets the elements in the set.</summary>
    public IReadOnlySet<T> Elements => Adds.Where(a => !RemovedTags.Contains(a.Key)).Select(a => a.Value).ToHashSet();

    private HashSet<string> RemovedTags => _removed ??= ObservedRemove.AsSet(Removed);

    /// <summary>Tells whether <paramref name="element"/> is in the set.</summary>
    /// <param name="element">The element.</param>
    /// <returns>Whether an add of it has not been removed.</returns>
    public bool Contains(T element) => Adds.Any(a => !RemovedTags.Contains(a.Key) && EqualityComparer<T>.Default.Equals(a.Value, element));

    /// <summary>Adds <paramref name="element"/> (a new add with a unique tag).</summary>
    /// <param name="element">The element.</param>
    /// <returns>The new set.</returns>
    public ORSet<T> Add(T element)
    {
        ArgumentNullException.ThrowIfNull(element);
        return new ORSet<T> { Adds = ObservedRemove.With(Adds, element), Removed = Removed };
    }

    /// <summary>Removes <paramref name="element"/>: every add of it this replica has seen.</summary>
    /// <param name="element">The element.</param>
    /// <returns>The new set.</returns>
    public ORSet<T> Remove(T element) =>
        new() { Adds = Adds, Removed = ObservedRemove.Tombstone(Adds, RemovedTags, e => EqualityComparer<T>.Default.Equals(e, element)) };

    /// <inheritdoc />
    public ORSet<T> Merge(ORSet<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var (adds, removed) = ObservedRemove.Merge(Adds, RemovedTags, other.Adds, other.RemovedTags);
        return new ORSet<T> { Adds = adds, Removed = removed };
    }
}
