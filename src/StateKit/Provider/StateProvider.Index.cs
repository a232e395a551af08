
namespace StateKit.Internal;

/// <content>The scope index: a list naming every value, list and checkpoint a scope created.</content>
internal sealed partial class StateProvider
{
    /// <summary>Records that the scope now holds <paramref name="entry"/> (<c>v:key</c>, <c>l:key</c> or <c>c:id</c>).</summary>
    /// <remarks>
    /// The index never expires (not even under the store's default time to live): it must outlive every value it names,
    /// and values written later live longer than it would. It goes when the scope is cleared.
    /// </remarks>
    private ValueTask IndexAsync(StateScope scope, string entry, CancellationToken cancellationToken) =>
        ScopeKeys.AddToIndexAsync(_store, scope, entry, cancellationToken);

    /// <summary>Reads the scope's index: every value key, list key and checkpoint id it has created (some may be gone since).</summary>
    private async ValueTask<(List<string> Values, List<string> Lists, List<string> Checkpoints, List<string> Streams)> ReadIndexAsync(StateScope scope, CancellationToken cancellationToken)
    {
        var raw = await _store.ListRangeAsync(ScopeKeys.Index(scope), 0, -1, cancellationToken).ConfigureAwait(false);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var (values, lists, checkpoints, streams) = (new List<string>(), new List<string>(), new List<string>(), new List<string>());
        foreach (var item in raw)
        {
            var entry = System.Text.Encoding.UTF8.GetString(item.Span);
            if (!seen.Add(entry) || entry.Length < 2)
            {
                continue;
            }

            (entry[..2] switch
            {
                ScopeKeys.IndexedValue => values,
                ScopeKeys.IndexedList => lists,
                ScopeKeys.IndexedStream => streams,
                _ => checkpoints,
            }).Add(entry[2..]);
        }

        return (values, lists, checkpoints, streams);
    }
}
