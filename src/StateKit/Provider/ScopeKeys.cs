using System.Globalization;

namespace StateKit.Internal;

/// <summary>
/// The store keys of a provider scope, in one place. Every key of a scope starts with its prefix
/// <c>{tier}/{owner}/</c> (<see cref="StateScope.StorePrefix"/>), then:
/// <list type="bullet">
/// <item><c>v/{key}</c>: a value;</item>
/// <item><c>h/{key}/{slot}</c>: a history record (a ring of slots per value, expiring with it);</item>
/// <item><c>l/{key}</c>: a list;</item>
/// <item><c>c/{id}</c> and <c>ci/{id}</c>: a checkpoint's data and its listing info;</item>
/// <item><c>index</c>: a list naming every value (<c>v:key</c>), list (<c>l:key</c>) and checkpoint (<c>c:id</c>) the
/// scope created, so that checkpoints and clearing a scope cost what the scope holds, never a scan of the store.</item>
/// </list>
/// </summary>
internal static class ScopeKeys
{
    /// <summary>The index entry prefix of a value.</summary>
    public const string IndexedValue = "v:";

    /// <summary>The index entry prefix of a list.</summary>
    public const string IndexedList = "l:";

    /// <summary>The index entry prefix of a checkpoint.</summary>
    public const string IndexedCheckpoint = "c:";

    public const string IndexedStream = "e:";

    /// <summary>The prefix of a scope's values.</summary>
    public static string ValuePrefix(StateScope scope) => scope.StorePrefix + "v/";

    /// <summary>The key of a value.</summary>
    public static string Value(StateScope scope, string key) => scope.StorePrefix + "v/" + key;

    /// <summary>The key of a list.</summary>
    public static string List(StateScope scope, string listKey) => scope.StorePrefix + "l/" + listKey;

    /// <summary>The key of the history slot that holds <paramref name="version"/> of a value.</summary>
    public static string History(StateScope scope, string key, long version, int limit) =>
        scope.StorePrefix + "h/" + key + "/" + (version % limit).ToString(CultureInfo.InvariantCulture);

    /// <summary>The key of a checkpoint's data.</summary>
    public static string Checkpoint(StateScope scope, string id) => scope.StorePrefix + "c/" + id;

    /// <summary>The key of a checkpoint's listing info.</summary>
    public static string CheckpointInfo(StateScope scope, string id) => scope.StorePrefix + "ci/" + id;

    /// <summary>The key of the scope's index list.</summary>
    public static string Index(StateScope scope) => scope.StorePrefix + "index";

    /// <summary>
    /// Records in the scope's index that the scope holds <paramref name="entry"/> (<c>v:key</c>, <c>l:key</c> or <c>c:id</c>),
    /// so that clearing the scope (a session ending) removes it. The index never expires: it must outlive what it names.
    /// </summary>
    public static async ValueTask AddToIndexAsync(IStateStore store, StateScope scope, string entry, CancellationToken cancellationToken) =>
        await store.ListAppendAsync(Index(scope), [System.Text.Encoding.UTF8.GetBytes(entry)], Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
}
