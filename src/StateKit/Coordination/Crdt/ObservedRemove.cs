using System.Security.Cryptography;

namespace StateKit;

/// <summary>
/// The observed-remove mechanics <see cref="ORSet{T}"/> and <see cref="UniqueList{T}"/> share: every add has a unique
/// tag, a remove tombstones the tags it has seen, a merge is the union of both.
/// </summary>
internal static class ObservedRemove
{
    /// <summary>A new add's tag: 96 random bits.</summary>
    public static string NewTag() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(12));

    /// <summary>The removed tags as a set (the one kept by the value when it made it, else a copy of the serialized ones).</summary>
    public static HashSet<string> AsSet(IReadOnlyCollection<string> removed) => removed as HashSet<string> ?? new HashSet<string>(removed, StringComparer.Ordinal);

    /// <summary><paramref name="adds"/> with one more add.</summary>
    public static Dictionary<string, TAdd> With<TAdd>(IReadOnlyDictionary<string, TAdd> adds, TAdd add) =>
        new(adds, StringComparer.Ordinal) { [NewTag()] = add };

    /// <summary><paramref name="removed"/> plus the tags of every add <paramref name="match"/> accepts.</summary>
    public static HashSet<string> Tombstone<TAdd>(IReadOnlyDictionary<string, TAdd> adds, HashSet<string> removed, Func<TAdd, bool> match)
    {
        var result = new HashSet<string>(removed, StringComparer.Ordinal);
        result.UnionWith(adds.Where(a => match(a.Value)).Select(a => a.Key));
        return result;
    }

    /// <summary>The union of two replicas' adds and tombstones.</summary>
    public static (Dictionary<string, TAdd> Adds, HashSet<string> Removed) Merge<TAdd>(IReadOnlyDictionary<string, TAdd> adds, HashSet<string> removed, IReadOnlyDictionary<string, TAdd> otherAdds, HashSet<string> otherRemoved)
    {
        var mergedAdds = new Dictionary<string, TAdd>(adds, StringComparer.Ordinal);
        foreach (var (tag, add) in otherAdds)
        {
            mergedAdds.TryAdd(tag, add);
        }

        var mergedRemoved = new HashSet<string>(removed, StringComparer.Ordinal);
        mergedRemoved.UnionWith(otherRemoved);
        return (mergedAdds, mergedRemoved);
    }
}
