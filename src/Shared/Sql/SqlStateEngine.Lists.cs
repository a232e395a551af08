using System.Data;
using System.Data.Common;
using System.Text;
using StateKit.Adapters;
using StateKit.Serialization;

namespace StateKit.Sql;

/// <content>Lists: a head row (head and tail sequence numbers, expiry) and one row per item.</content>
internal sealed partial class SqlStateEngine
{
    /// <summary>Appends items to a list in one transaction; an expired list starts afresh.</summary>
    /// <param name="key">The list key.</param>
    /// <param name="items">The items.</param>
    /// <param name="timeToLive">The time to live; <see langword="null"/> for the store default, <see cref="StateTimeToLive.KeepCurrent"/> keeps a live list's.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The new length.</returns>
    public async ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateAppend(key, items, timeToLive, "ListAppend");
        ValidateKeyBytes(key, "ListAppend");
        if (items.Count == 0)
        {
            return await ListLengthAsync(key, cancellationToken).ConfigureAwait(false);
        }

        var newExpiry = ToUnix(_guard.ResolveExpiry(timeToLive));
        return await RunAsync("ListAppend", key, write: true, async (c, ct) =>
        {
            await using var transaction = await _dialect.BeginWriteAsync(c, ct).ConfigureAwait(false);
            long head, tail;
            using (var upsert = Command(c, _listUpsert, transaction, key, Now))
            {
                Add(upsert.Cmd, "@count", (long)items.Count, DbType.Int64);
                Add(upsert.Cmd, "@newexp", newExpiry, DbType.Int64);
                Add(upsert.Cmd, "@exp", newExpiry, DbType.Int64);
                Add(upsert.Cmd, "@hasttl", StateStoreGuard.KeepsExpiry(timeToLive) ? 0 : 1, DbType.Int32);
                await using var reader = await upsert.Cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await reader.ReadAsync(ct).ConfigureAwait(false);
                head = reader.GetInt64(0);
                tail = reader.GetInt64(1);
            }

            var first = tail - items.Count;
            if (first == head)
            {
                // A new or restarted list: drop any items a purge or an expiry left behind under this key.
                using var clear = Command(c, _listClearItems, transaction, key);
                await clear.Cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            for (var offset = 0; offset < items.Count; offset += ChunkSize)
            {
                var count = Math.Min(ChunkSize, items.Count - offset);
                var sql = new StringBuilder($"INSERT INTO {_dialect.Tables.Items} (ns, key, seq, value, crc) VALUES ");
                using var insert = Command(c, string.Empty, transaction, key);
                for (var i = 0; i < count; i++)
                {
                    var seq = first + offset + i;
                    sql.Append(i == 0 ? "(@ns, @key, @s" : ", (@ns, @key, @s").Append(i).Append(", @v").Append(i).Append(", @c").Append(i).Append(')');
                    Add(insert.Cmd, "@s" + i, seq, DbType.Int64);
                    Add(insert.Cmd, "@v" + i, WholeArray.Of(items[offset + i]), DbType.Binary);
                    Add(insert.Cmd, "@c" + i, (long)Crc32C.Keyed(key, seq, items[offset + i].Span), DbType.Int64);
                }

                insert.Cmd.CommandText = sql.ToString();
                await insert.Cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return tail - head;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a range of a live list in one statement (negative indices count from the end).</summary>
    /// <param name="key">The list key.</param>
    /// <param name="start">The first index.</param>
    /// <param name="stop">The last index, inclusive.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The items.</returns>
    public ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start, long stop, CancellationToken cancellationToken)
    {
        Enter("ListRange", key, cancellationToken);
        // Indices beyond ±2^62 mean the same as ±2^62 for any real list, and keep head + index inside a bigint.
        start = Math.Clamp(start, -IndexLimit, IndexLimit);
        stop = Math.Clamp(stop, -IndexLimit, IndexLimit);
        return RunAsync("ListRange", key, write: false, async (c, ct) =>
        {
            using var cmd = Command(c, _listRange, null, key, Now);
            Add(cmd.Cmd, "@start", start, DbType.Int64);
            Add(cmd.Cmd, "@stop", stop, DbType.Int64);
            var items = new List<ReadOnlyMemory<byte>>();
            (long Offset, long Count)? range = null;
            long expected = 0, head = 0;
            await using var reader = await cmd.Cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                if (range is null)
                {
                    range = StateListRange.Resolve(start, stop, CheckedLength(reader.GetInt64(0), key, "ListRange"));
                    expected = range.Value.Offset;
                    head = reader.GetInt64(4);
                }

                if (reader.IsDBNull(2))
                {
                    continue;
                }

                if (reader.GetInt64(1) != expected++)
                {
                    throw ListDamaged(key, "ListRange", $"item {expected - 1} has no row");
                }

                var item = (byte[])reader.GetValue(2);
                // -1: an item written before checksums (schema 3), read unverified.
                if (reader.GetInt64(3) is var crc and >= 0 && crc != Crc32C.Keyed(key, head + expected - 1, item))
                {
                    throw new StateCorruptedException(_guard.StoreName, "ListRange", key, $"item {expected - 1} does not match its checksum (damaged, or copied from another list or position)", _dialect.Location);
                }

                items.Add(item);
            }

            if (range is { } r && items.Count != r.Count)
            {
                throw ListDamaged(key, "ListRange", $"the range holds {items.Count} item rows where the list's bounds say {r.Count}");
            }

            return (IReadOnlyList<ReadOnlyMemory<byte>>)items;
        }, cancellationToken);
    }

    /// <summary>Gets the length of a live list.</summary>
    /// <param name="key">The list key.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The length, 0 when missing or expired.</returns>
    public ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken)
    {
        Enter("ListLength", key, cancellationToken);
        return RunAsync("ListLength", key, write: false, async (c, ct) =>
        {
            using var cmd = Command(c, _listLength, null, key, Now);
            var result = await cmd.Cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
            return result is null or DBNull ? 0L : CheckedLength(Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture), key, "ListLength");
        }, cancellationToken);
    }

    /// <summary>Keeps only the items from <paramref name="start"/> to <paramref name="stop"/>; an empty result deletes the list.</summary>
    /// <param name="key">The list key.</param>
    /// <param name="start">The first index kept.</param>
    /// <param name="stop">The last index kept, inclusive.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The new length.</returns>
    public ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken)
    {
        Enter("ListTrim", key, cancellationToken);
        return RunAsync("ListTrim", key, write: true, async (c, ct) =>
        {
            await using var transaction = await _dialect.BeginWriteAsync(c, ct).ConfigureAwait(false);
            long head, tail;
            using (var read = Command(c, _listHead, transaction, key, Now))
            {
                await using var reader = await read.Cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                if (!await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    return 0L;
                }

                head = reader.GetInt64(0);
                tail = reader.GetInt64(1);
            }

            var (offset, count) = StateListRange.Resolve(start, stop, CheckedLength(tail - head, key, "ListTrim"));
            if (count == 0)
            {
                await DeleteListRowsAsync(c, transaction, key, ct).ConfigureAwait(false);
            }
            else
            {
                using var bounds = Command(c, _listSetBounds, transaction, key);
                Add(bounds.Cmd, "@head", head + offset, DbType.Int64);
                Add(bounds.Cmd, "@tail", head + offset + count, DbType.Int64);
                await bounds.Cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                using var trim = Command(c, _listTrimItems, transaction, key);
                Add(trim.Cmd, "@head", head + offset, DbType.Int64);
                Add(trim.Cmd, "@tail", head + offset + count, DbType.Int64);
                await trim.Cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return count;
        }, cancellationToken);
    }

    /// <summary>Deletes a list and its items.</summary>
    /// <param name="key">The list key.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>Whether a live list was deleted.</returns>
    public ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken)
    {
        Enter("ListDelete", key, cancellationToken);
        return RunAsync("ListDelete", key, write: true, async (c, ct) =>
        {
            await using var transaction = await _dialect.BeginWriteAsync(c, ct).ConfigureAwait(false);
            var live = await DeleteListRowsAsync(c, transaction, key, ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return live;
        }, cancellationToken);
    }

    /// <summary>Sets a live list's expiry.</summary>
    /// <param name="key">The list key.</param>
    /// <param name="timeToLive">The new time to live.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>Whether a live list was found.</returns>
    public ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        TouchAsync(_listTouch, "ListTouch", key, timeToLive, cancellationToken);

    private long CheckedLength(long length, string key, string operation) =>
        length >= 0 ? length : throw ListDamaged(key, operation, $"its head is {-length} past its tail");

    private StateCorruptedException ListDamaged(string key, string operation, string detail) =>
        new(_guard.StoreName, operation, key, "the list's rows are inconsistent: " + detail, _dialect.Location);

    private async ValueTask<bool> DeleteListRowsAsync(DbConnection connection, DbTransaction transaction, string key, CancellationToken cancellationToken)
    {
        bool live;
        using (var head = Command(connection, _listDelete, transaction, key))
        {
            await using var reader = await head.Cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            live = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && (reader.IsDBNull(0) || reader.GetInt64(0) > Now);
        }

        using var items = Command(connection, _listClearItems, transaction, key);
        await items.Cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return live;
    }
}
