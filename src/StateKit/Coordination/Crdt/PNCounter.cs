namespace StateKit;

/// <summary>
/// A counter many writers change at once without conflicts (a PN-counter): each replica counts its own increments and
/// decrements, and a merge keeps each replica's largest counts. Immutable: changes return a new counter.
/// </summary>
public sealed class PNCounter : IMergeable<PNCounter>
{
    /// <summary>Gets each replica's total increments (for serialization).</summary>
    public IReadOnlyDictionary<string, long> Increments { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);

    /// <summary>Gets each replica's total decrements (for serialization).</summary>
    public IReadOnlyDictionary<string, long> Decrements { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);

    /// <summary>Gets the counter's value: every increment less every decrement.</summary>
    public long Value => Increments.Values.Sum() - Decrements.Values.Sum();

    /// <summary>Adds <paramref name="delta"/> (negative to subtract) as <paramref name="replica"/>.</summary>
    /// <param name="replica">This writer's id: unique per writer (an instance or worker id), stable across its changes.</param>
    /// <param name="delta">The change.</param>
    /// <returns>The new counter.</returns>
    public PNCounter Add(string replica, long delta)
    {
        ArgumentException.ThrowIfNullOrEmpty(replica);
        return delta >= 0
            ? new PNCounter { Increments = With(Increments, replica, delta), Decrements = Decrements }
            : new PNCounter { Increments = Increments, Decrements = With(Decrements, replica, -delta) };
    }

    /// <inheritdoc />
    public PNCounter Merge(PNCounter other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new PNCounter { Increments = Max(Increments, other.Increments), Decrements = Max(Decrements, other.Decrements) };
    }

    private static Dictionary<string, long> With(IReadOnlyDictionary<string, long> counts, string replica, long delta)
    {
        var copy = new Dictionary<string, long>(counts, StringComparer.Ordinal);
        copy[replica] = checked(copy.GetValueOrDefault(replica) + delta);
        return copy;
    }

    private static Dictionary<string, long> Max(IReadOnlyDictionary<string, long> a, IReadOnlyDictionary<string, long> b)
    {
        var merged = new Dictionary<string, long>(a, StringComparer.Ordinal);
        foreach (var (replica, count) in b)
        {
            merged[replica] = Math.Max(merged.GetValueOrDefault(replica), count);
        }

        return merged;
    }
}
