namespace StateKit;

/// <summary>
/// A map of last-writer-wins registers (<see cref="LwwRegister{T}"/>) by string key: concurrent writes of different keys
/// all survive a merge; of one key, the last (by timestamp, then replica id) wins. A removal is a write too, so a remove
/// and a later set of the same key merge to the set. Immutable.
/// </summary>
/// <typeparam name="TValue">The value type.</typeparam>
public sealed class LwwMap<TValue> : IMergeable<LwwMap<TValue>>
{
    /// <summary>Gets the registers by key, removed ones included (for serialization).</summary>
    public IReadOnlyDictionary<string, LwwRegister<TValue>> Entries { get; init; } = new Dictionary<string, LwwRegister<TValue>>(StringComparer.Ordinal);

    /// <summary>Gets the live entries.</summary>
    public IReadOnlyDictionary<string, TValue?> Items => Entries.Where(e => !e.Value.Removed).ToDictionary(e => e.Key, e => e.Value.Value, StringComparer.Ordinal);

    /// <summary>Sets <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="replica">The writer's id.</param>
    /// <param name="timestamp">The write's time.</param>
    /// <returns>The new map.</returns>
    public LwwMap<TValue> Set(string key, TValue value, string replica, long timestamp) =>
        With(key, (Entries.GetValueOrDefault(key) ?? new LwwRegister<TValue>()).Set(value, replica, timestamp));

    /// <summary>Removes <paramref name="key"/> (a write that a later set overrides).</summary>
    /// <param name="key">The key.</param>
    /// <param name="replica">The writer's id.</param>
    /// <param name="timestamp">The removal's time.</param>
    /// <returns>The new map.</returns>
    public LwwMap<TValue> Remove(string key, string replica, long timestamp) =>
        With(key, (Entries.GetValueOrDefault(key) ?? new LwwRegister<TValue>()).Remove(replica, timestamp));

    /// <inheritdoc />
    public LwwMap<TValue> Merge(LwwMap<TValue> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var merged = new Dictionary<string, LwwRegister<TValue>>(Entries, StringComparer.Ordinal);
        foreach (var (key, register) in other.Entries)
        {
            merged[key] = merged.TryGetValue(key, out var mine) ? mine.Merge(register) : register;
        }

        return new LwwMap<TValue> { Entries = merged };
    }

    private LwwMap<TValue> With(string key, LwwRegister<TValue> register)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new LwwMap<TValue> { Entries = new Dictionary<string, LwwRegister<TValue>>(Entries, StringComparer.Ordinal) { [key] = register } };
    }
}
