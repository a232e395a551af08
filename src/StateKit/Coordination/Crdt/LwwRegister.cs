namespace StateKit;

/// <summary>
/// A last-writer-wins register: the write with the larger timestamp wins a merge (ties broken by replica id, so every
/// replica picks the same one). Timestamps come from the writers' clocks: with skew, "last" is the largest timestamp,
/// not the latest write in real time. Immutable.
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class LwwRegister<T> : IMergeable<LwwRegister<T>>
{
    /// <summary>Gets the value (<see langword="default"/> when never set, or removed in a map).</summary>
    public T? Value { get; init; }

    /// <summary>Gets the winning write's timestamp (Unix milliseconds, or any number that grows).</summary>
    public long Timestamp { get; init; }

    /// <summary>Gets the winning write's replica id (the tie-break).</summary>
    public string Replica { get; init; } = string.Empty;

    /// <summary>Gets whether the winning write was a removal (in an <see cref="LwwMap{TValue}"/>).</summary>
    public bool Removed { get; init; }

    /// <summary>Sets the value as <paramref name="replica"/> at <paramref name="timestamp"/>; an older write than the current one changes nothing.</summary>
    /// <param name="value">The value.</param>
    /// <param name="replica">The writer's id.</param>
    /// <param name="timestamp">The write's time (for example <c>TimeProvider.GetUtcNow().ToUnixTimeMilliseconds()</c>).</param>
    /// <returns>The new register.</returns>
    public LwwRegister<T> Set(T value, string replica, long timestamp) => Merge(new LwwRegister<T> { Value = value, Replica = Check(replica), Timestamp = timestamp });

    /// <inheritdoc />
    public LwwRegister<T> Merge(LwwRegister<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Wins(other, this) ? other : this;
    }

    internal LwwRegister<T> Remove(string replica, long timestamp) => Merge(new LwwRegister<T> { Replica = Check(replica), Timestamp = timestamp, Removed = true });

    /// <summary>Whether <paramref name="a"/> beats <paramref name="b"/>: a larger timestamp, then a larger replica id, then a removal.</summary>
    private static bool Wins(LwwRegister<T> a, LwwRegister<T> b) =>
        a.Timestamp != b.Timestamp ? a.Timestamp > b.Timestamp
        : string.CompareOrdinal(a.Replica, b.Replica) is var byReplica && byReplica != 0 ? byReplica > 0
        : a.Removed && !b.Removed;

    private static string Check(string replica)
    {
        ArgumentException.ThrowIfNullOrEmpty(replica);
        return replica;
    }
}
