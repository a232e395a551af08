using System.Security.Cryptography;
using System.Text;
using StateKit.Internal;

namespace StateKit.Tool;

/// <summary>Two stores compared entry by entry and list by list: counts and a checksum per scope, and every difference.</summary>
internal sealed class StoreComparison
{
    /// <summary>A list's expiry may differ this much (lists carry their expiry as time left, measured at each end).</summary>
    public static readonly TimeSpan ListExpirySlack = TimeSpan.FromSeconds(2);

    /// <summary>Gets the entries and lists at the source.</summary>
    public (long Entries, long Lists) Source { get; private set; }

    /// <summary>Gets the entries and lists at the target.</summary>
    public (long Entries, long Lists) Target { get; private set; }

    /// <summary>Gets the differences (key: what).</summary>
    public List<string> Differences { get; } = [];

    /// <summary>Gets how many entries the target holds at a lower version than the source.</summary>
    public long LowerVersions { get; private set; }

    /// <summary>Gets the scopes whose checksums differ.</summary>
    public List<string> DifferentScopes { get; } = [];

    /// <summary>Gets the number of scopes compared.</summary>
    public int Scopes { get; private set; }

    /// <summary>Compares everything under <paramref name="prefix"/>.</summary>
    public static async Task<StoreComparison> RunAsync(IStateStore source, IStateStore target, string prefix, CancellationToken cancellationToken)
    {
        var result = new StoreComparison();
        var left = await StoreInventory.ReadAsync(source, prefix, cancellationToken).ConfigureAwait(false);
        var right = await StoreInventory.ReadAsync(target, prefix, cancellationToken).ConfigureAwait(false);
        result.Source = (left.Entries.Count, left.Lists.Count);
        result.Target = (right.Entries.Count, right.Lists.Count);
        var sums = new SortedDictionary<string, (IncrementalHash Left, IncrementalHash Right)>(StringComparer.Ordinal);
        (IncrementalHash Left, IncrementalHash Right) Sums(string key)
        {
            var shard = StoreKeyLayout.ShardOf(key);
            if (!sums.TryGetValue(shard, out var pair))
            {
                sums[shard] = pair = (IncrementalHash.CreateHash(HashAlgorithmName.SHA256), IncrementalHash.CreateHash(HashAlgorithmName.SHA256));
            }

            return pair;
        }

        var keys = left.Entries.Union(right.Entries, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        for (var start = 0; start < keys.Count; start += StoreReads.Window)
        {
            var batch = keys.GetRange(start, Math.Min(StoreReads.Window, keys.Count - start));
            var a = await source.ReadAllAsync(batch, cancellationToken).ConfigureAwait(false);
            var b = await target.ReadAllAsync(batch, cancellationToken).ConfigureAwait(false);
            foreach (var key in batch)
            {
                a.TryGetValue(key, out var x);
                b.TryGetValue(key, out var y);
                var (sumLeft, sumRight) = Sums(key);
                Add(sumLeft, "e", key, x?.Version ?? 0, x?.Value ?? default);
                Add(sumRight, "e", key, y?.Version ?? 0, y?.Value ?? default);
                var problem = (x, y) switch
                {
                    (null, null) => null, // expired or deleted on both while comparing
                    (not null, null) => "missing at the target",
                    (null, not null) => "only at the target",
                    _ when y!.Version < x!.Version => $"version {y.Version} at the target, {x.Version} at the source",
                    _ when y!.Version > x!.Version => $"version {y.Version} at the target, newer than the source's {x.Version}",
                    _ when !x!.Value.Span.SequenceEqual(y!.Value.Span) => $"same version {x.Version}, different values",
                    _ when x!.ExpiresAt != y!.ExpiresAt => $"expires {ToolConsole.Plain(y.ExpiresAt)} at the target, {ToolConsole.Plain(x.ExpiresAt)} at the source",
                    _ => null,
                };
                if (x is not null && y is not null && y.Version < x.Version)
                {
                    result.LowerVersions++;
                }

                if (problem is not null)
                {
                    result.Differences.Add($"{key}: {problem}");
                }
            }
        }

        var leftLists = left.Lists.ToDictionary(l => l.Key, StringComparer.Ordinal);
        var rightLists = right.Lists.ToDictionary(l => l.Key, StringComparer.Ordinal);
        foreach (var key in leftLists.Keys.Union(rightLists.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var x = leftLists.ContainsKey(key) ? await source.ListRangeAsync(key, 0, -1, cancellationToken).ConfigureAwait(false) : [];
            var y = rightLists.ContainsKey(key) ? await target.ListRangeAsync(key, 0, -1, cancellationToken).ConfigureAwait(false) : [];
            var (sumLeft, sumRight) = Sums(key);
            foreach (var item in x)
            {
                Add(sumLeft, "l", key, 0, item);
            }

            foreach (var item in y)
            {
                Add(sumRight, "l", key, 0, item);
            }

            var same = x.Count == y.Count && x.Zip(y).All(p => p.First.Span.SequenceEqual(p.Second.Span));
            var expiryLeft = leftLists.GetValueOrDefault(key).ExpiresAt;
            var expiryRight = rightLists.GetValueOrDefault(key).ExpiresAt;
            var problem = !same ? $"list of {y.Count} items at the target, {x.Count} at the source{(x.Count == y.Count ? ", different items" : string.Empty)}"
                : (expiryLeft is null) != (expiryRight is null) || (expiryLeft is { } l && expiryRight is { } r && (l - r).Duration() > ListExpirySlack)
                    ? $"list expires {ToolConsole.Plain(expiryRight)} at the target, {ToolConsole.Plain(expiryLeft)} at the source"
                    : null;
            if (problem is not null && (x.Count > 0 || y.Count > 0))
            {
                result.Differences.Add($"{key}: {problem}");
            }
        }

        foreach (var (shard, (sumLeft, sumRight)) in sums)
        {
            if (!sumLeft.GetCurrentHash().AsSpan().SequenceEqual(sumRight.GetCurrentHash()))
            {
                result.DifferentScopes.Add(shard);
            }

            sumLeft.Dispose();
            sumRight.Dispose();
        }

        result.Scopes = sums.Count;
        return result;
    }

    /// <summary>Gets a value indicating whether the stores hold the same.</summary>
    public bool Same => Differences.Count == 0;

    /// <summary>The comparison's members, for output.</summary>
    public IEnumerable<(string Name, object? Value)> Describe() =>
    [
        ("sourceEntries", Source.Entries), ("sourceLists", Source.Lists), ("targetEntries", Target.Entries), ("targetLists", Target.Lists),
        ("scopes", Scopes), ("scopesDiffering", DifferentScopes.Count), ("lowerVersions", LowerVersions),
        ("differences", Differences.Count), ("firstDifferences", Differences.Take(20).ToArray()),
    ];

    private static void Add(IncrementalHash hash, string kind, string key, long version, ReadOnlyMemory<byte> value)
    {
        Span<byte> number = stackalloc byte[8];
        hash.AppendData(Encoding.UTF8.GetBytes(kind + key + "\0"));
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(number, version);
        hash.AppendData(number);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(number, value.Length);
        hash.AppendData(number);
        hash.AppendData(value.Span);
    }
}
