
namespace StateKit.Internal;

/// <content>Typed lists (conversation history): append, range, count, trim.</content>
internal sealed partial class StateProvider
{
    public async ValueTask<long> AppendAsync<T>(StateScope scope, string listKey, IReadOnlyList<T> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        await AuthorizeAsync(StateAccess.Write, scope, ValidKey(listKey), cancellationToken).ConfigureAwait(false);
        var encoded = new ReadOnlyMemory<byte>[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            Validate(scope, listKey, items[i]);
            encoded[i] = _codec.Encode(items[i]);
        }

        var length = await _store.ListAppendAsync(ScopeKeys.List(scope, listKey), encoded, StateTimeToLive.KeepCurrent, cancellationToken).ConfigureAwait(false);
        if (items.Count > 0 && length == items.Count)
        {
            await IndexAsync(scope, ScopeKeys.IndexedList + listKey, cancellationToken).ConfigureAwait(false); // a new list
        }

        if (items.Count > 0)
        {
            await ChangedAsync(new StateChange(StateChangeKind.ListAppend, scope, listKey, length - items.Count, length, PrincipalName, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        }

        return length;
    }

    public async ValueTask<IReadOnlyList<T>> GetRangeAsync<T>(StateScope scope, string listKey, long start = 0, long stop = -1, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Read, scope, ValidKey(listKey), cancellationToken).ConfigureAwait(false);
        var storeKey = ScopeKeys.List(scope, listKey);
        var raw = await _store.ListRangeAsync(storeKey, start, stop, cancellationToken).ConfigureAwait(false);
        var items = new T[raw.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = _codec.Decode<T>(raw[i].Span, storeKey)!;
        }

        return items;
    }

    public async ValueTask<long> CountAsync(StateScope scope, string listKey, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Read, scope, ValidKey(listKey), cancellationToken).ConfigureAwait(false);
        return await _store.ListLengthAsync(ScopeKeys.List(scope, listKey), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long> TrimToLastAsync(StateScope scope, string listKey, long count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        await AuthorizeAsync(StateAccess.Write, scope, ValidKey(listKey), cancellationToken).ConfigureAwait(false);
        var storeKey = ScopeKeys.List(scope, listKey);
        long length;
        if (count == 0)
        {
            await _store.ListDeleteAsync(storeKey, cancellationToken).ConfigureAwait(false);
            length = 0;
        }
        else
        {
            length = await _store.ListTrimAsync(storeKey, -count, -1, cancellationToken).ConfigureAwait(false);
        }

        await ChangedAsync(new StateChange(StateChangeKind.ListRemove, scope, listKey, 0, length, PrincipalName, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        return length;
    }
}
