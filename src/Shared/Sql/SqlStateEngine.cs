using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text;
using StateKit.Adapters;

namespace StateKit.Sql;

/// <summary>
/// The <see cref="IStateStore"/> behaviour over SQL tables, shared by the SQLite and PostgreSQL stores.
/// Entries live in one row each (value, version, expires_at in Unix milliseconds); a list is a head row
/// (head and tail sequence numbers, expiry) plus one row per item. Every write is one statement or one
/// transaction; expired rows are filtered by every read and removed in batches by <see cref="PurgeExpiredAsync"/>.
/// </summary>
/// <remarks>Source shared by StateKit.Sqlite and StateKit.Postgres (linked, compiled into each, internal).</remarks>
internal sealed class SqlStateEngine
{
    private const int ChunkSize = 200;
    private const int PageSize = 500;
    private const int PurgeBatch = 1000;
    private const long IndexLimit = 1L << 62;
    private const string Live = "(expires_at IS NULL OR expires_at > @now)";

    private readonly SqlDialect _dialect;
    private readonly StateStoreGuard _guard;
    private readonly string _ns;
    private readonly int _nsBytes;
    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private volatile bool _schemaReady;

    private readonly string _get, _exists, _version, _insertOrReplace, _insertIfAbsent, _setAtVersion, _update, _delete, _deleteIfVersion, _touch;
    private readonly string _listKeys, _purgeEntries, _purgeItems, _purgeLists;
    private readonly string _listUpsert, _listClearItems, _listRange, _listLength, _listHead, _listSetBounds, _listTrimItems, _listDelete, _listTouch;

    /// <summary>Initializes a new instance of the <see cref="SqlStateEngine"/> class.</summary>
    /// <param name="dialect">The backend.</param>
    /// <param name="guard">The argument checks and clock.</param>
    public SqlStateEngine(SqlDialect dialect, StateStoreGuard guard)
    {
        _dialect = dialect;
        _guard = guard;
        _ns = guard.Options.KeyPrefix;
        _nsBytes = Encoding.UTF8.GetByteCount(_ns);
        var t = dialect.Tables;
        var e = t.Entries;
        _get = $"SELECT value, version, expires_at FROM {e} WHERE ns = @ns AND key = @key AND {Live}";
        _exists = $"SELECT 1 FROM {e} WHERE ns = @ns AND key = @key AND {Live}";
        _version = $"SELECT version FROM {e} WHERE ns = @ns AND key = @key AND {Live}";
        const string expired = "(e.expires_at IS NOT NULL AND e.expires_at <= @now)";
        var upsert = $"INSERT INTO {e} AS e (ns, key, value, version, expires_at) VALUES (@ns, @key, @value, 1, @exp) " +
            $"ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = CASE WHEN @keep = 1 AND NOT {expired} THEN e.expires_at ELSE excluded.expires_at END, " +
            $"version = CASE WHEN {expired} THEN 1 ELSE e.version + 1 END";
        _insertOrReplace = upsert + " RETURNING version";
        _insertIfAbsent = upsert + $" WHERE {expired} RETURNING version";
        _setAtVersion = $"INSERT INTO {e} AS e (ns, key, value, version, expires_at) VALUES (@ns, @key, @value, @version, @exp) " +
            $"ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at " +
            $"WHERE e.version < excluded.version OR {expired} RETURNING version";
        _update = $"UPDATE {e} SET value = @value, version = version + 1, expires_at = CASE WHEN @keep = 1 THEN expires_at ELSE @exp END WHERE ns = @ns AND key = @key AND version = @expected AND {Live} RETURNING version";
        _delete = $"DELETE FROM {e} WHERE ns = @ns AND key = @key RETURNING expires_at";
        _deleteIfVersion = $"DELETE FROM {e} WHERE ns = @ns AND key = @key AND version = @expected AND {Live} RETURNING version";
        _touch = $"UPDATE {e} SET expires_at = @exp WHERE ns = @ns AND key = @key AND {Live}";
        _listKeys = $"SELECT key FROM {e} WHERE ns = @ns AND key >= @from AND (@to IS NULL OR key < @to) AND key > @after AND {Live} ORDER BY key LIMIT {PageSize}";
        var expiredIn = $"(ns, key) IN (SELECT ns, key FROM {{0}} WHERE ns = @ns AND expires_at <= @now ORDER BY expires_at LIMIT {PurgeBatch})";
        _purgeEntries = $"DELETE FROM {e} WHERE " + string.Format(System.Globalization.CultureInfo.InvariantCulture, expiredIn, e);
        _purgeItems = $"DELETE FROM {t.Items} WHERE " + string.Format(System.Globalization.CultureInfo.InvariantCulture, expiredIn, t.Lists);
        _purgeLists = $"DELETE FROM {t.Lists} WHERE " + string.Format(System.Globalization.CultureInfo.InvariantCulture, expiredIn, t.Lists);

        const string listExpired = "(l.expires_at IS NOT NULL AND l.expires_at <= @now)";
        _listUpsert = $"INSERT INTO {t.Lists} AS l (ns, key, head, tail, expires_at) VALUES (@ns, @key, 0, @count, @newexp) " +
            $"ON CONFLICT (ns, key) DO UPDATE SET head = CASE WHEN {listExpired} THEN l.tail ELSE l.head END, tail = l.tail + @count, " +
            $"expires_at = CASE WHEN {listExpired} THEN @newexp WHEN @hasttl = 1 THEN @exp ELSE l.expires_at END RETURNING head, tail";
        _listClearItems = $"DELETE FROM {t.Items} WHERE ns = @ns AND key = @key";
        // One row per item in range, or one row with no item when the list is live but the range is empty, so the
        // caller always learns the length and can tell a missing item row (damage) from an empty range.
        _listRange = $"WITH h AS (SELECT head, tail - head AS len FROM {t.Lists} WHERE ns = @ns AND key = @key AND {Live}) " +
            $"SELECT h.len, i.seq - h.head, i.value FROM h LEFT JOIN {t.Items} i ON i.ns = @ns AND i.key = @key " +
            "AND i.seq >= h.head + (CASE WHEN @start >= 0 THEN @start WHEN h.len + @start > 0 THEN h.len + @start ELSE 0 END) " +
            "AND i.seq <= h.head + (CASE WHEN @stop >= 0 THEN @stop ELSE h.len + @stop END) AND i.seq < h.head + h.len ORDER BY i.seq";
        _listLength = $"SELECT tail - head FROM {t.Lists} WHERE ns = @ns AND key = @key AND {Live}";
        _listHead = $"SELECT head, tail FROM {t.Lists} WHERE ns = @ns AND key = @key AND {Live}{dialect.ForUpdate}";
        _listSetBounds = $"UPDATE {t.Lists} SET head = @head, tail = @tail WHERE ns = @ns AND key = @key";
        _listTrimItems = $"DELETE FROM {t.Items} WHERE ns = @ns AND key = @key AND (seq < @head OR seq >= @tail)";
        _listDelete = $"DELETE FROM {t.Lists} WHERE ns = @ns AND key = @key RETURNING expires_at";
        _listTouch = $"UPDATE {t.Lists} SET expires_at = @exp WHERE ns = @ns AND key = @key AND {Live}";
    }

    private long Now => _guard.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Gets a live entry.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The entry, or <see langword="null"/>.</returns>
    public ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        Enter("Get", key, cancellationToken);
        return RunAsync("Get", key, write: false, async (c, ct) =>
        {
            using var cmd = Command(c, _get, null, key, Now);
            await using var reader = await cmd.Cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadEntry(reader, key, "Get", 0) : null;
        }, cancellationToken);
    }

    /// <summary>Gets the live entries among <paramref name="keys"/>.</summary>
    /// <param name="keys">The keys.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The entries found, by key.</returns>
    public async ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        var distinct = _guard.ValidateDistinctKeys(keys, "GetMany");
        foreach (var key in distinct)
        {
            ValidateKeyBytes(key, "GetMany");
        }

        var result = new Dictionary<string, StateEntry>(distinct.Count, StringComparer.Ordinal);
        for (var offset = 0; offset < distinct.Count; offset += ChunkSize)
        {
            var chunk = distinct.Skip(offset).Take(ChunkSize).ToArray();
            await RunAsync("GetMany", null, write: false, async (c, ct) =>
            {
                var sql = new StringBuilder($"SELECT value, version, expires_at, key FROM {_dialect.Tables.Entries} WHERE ns = @ns AND {Live} AND key IN (");
                using var cmd = Command(c, string.Empty, null, null, Now);
                for (var i = 0; i < chunk.Length; i++)
                {
                    sql.Append(i == 0 ? "@k" : ", @k").Append(i);
                    Add(cmd.Cmd, "@k" + i, chunk[i], DbType.String);
                }

                cmd.Cmd.CommandText = sql.Append(')').ToString();
                await using var reader = await cmd.Cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    var key = reader.GetString(3);
                    result[key] = ReadEntry(reader, key, "GetMany", 0);
                }

                return true;
            }, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>Writes one entry.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="options">The write options.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The new version.</returns>
    public ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options, CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateWrite(key, value, options, "Set");
        ValidateKeyBytes(key, "Set");
        var write = ToWrite(key, value, options);
        return RunAsync("Set", key, write: true, async (c, ct) =>
        {
            var now = Now;
            return await WriteAsync(c, null, write, now, ct).ConfigureAwait(false)
                ?? throw await ConflictAsync(c, "Set", key, write.ExpectedVersion!.Value, now, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Writes a batch atomically: when one conditional write conflicts, nothing is written.</summary>
    /// <param name="writes">The writes.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The new versions, in order.</returns>
    public async ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateBatch(writes, "SetMany");
        foreach (var write in writes)
        {
            ValidateKeyBytes(write.Key, "SetMany");
        }

        if (writes.Count == 0)
        {
            return Array.Empty<long>();
        }

        var prepared = new SqlWrite[writes.Count];
        for (var i = 0; i < prepared.Length; i++)
        {
            prepared[i] = ToWrite(writes[i].Key, writes[i].Value, writes[i].Options);
        }

        return await RunAsync("SetMany", null, write: true, async (c, ct) =>
        {
            var now = Now;
            var result = await _dialect.SetManyAsync(this, c, prepared, now, ct).ConfigureAwait(false);
            if (result.ConflictIndex >= 0)
            {
                var conflict = prepared[result.ConflictIndex];
                throw await ConflictAsync(c, "SetMany", conflict.Key, conflict.ExpectedVersion!.Value, now, ct).ConfigureAwait(false);
            }

            return (IReadOnlyList<long>)result.Versions;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs one write statement; <see langword="null"/> means its condition did not hold and nothing changed.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="transaction">The transaction, if any.</param>
    /// <param name="write">The write.</param>
    /// <param name="now">The current time in Unix milliseconds.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The new version, or <see langword="null"/> on a conflict.</returns>
    public async ValueTask<long?> WriteAsync(DbConnection connection, DbTransaction? transaction, SqlWrite write, long now, CancellationToken cancellationToken)
    {
        using var cmd = PrepareWrite(connection, transaction, write, now);
        var result = await cmd.Cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return result is null or DBNull ? null : Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Builds the statement of one write.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="transaction">The transaction, if any.</param>
    /// <param name="write">The write.</param>
    /// <param name="now">The current time in Unix milliseconds.</param>
    /// <returns>The command (dispose it to give it back); it returns the new version in one row, or no row on a conflict.</returns>
    public PooledCommand PrepareWrite(DbConnection connection, DbTransaction? transaction, SqlWrite write, long now)
    {
        var cmd = Command(connection, WriteSql(write), transaction, null);
        foreach (var (name, value, type) in WriteParameters(write, now))
        {
            Add(cmd.Cmd, name, value, type);
        }

        return cmd;
    }

    /// <summary>Gets the namespace (the store's key prefix) every row of this store carries.</summary>
    public string Namespace => _ns;

    /// <summary>The statement of one write: it returns the new version in one row, or no row on a conflict.</summary>
    /// <param name="write">The write.</param>
    /// <returns>The SQL text.</returns>
    public string WriteSql(SqlWrite write) => write.ExpectedVersion switch
    {
        null => _insertOrReplace,
        0 => _insertIfAbsent,
        _ => _update,
    };

    /// <summary>The parameters of <see cref="WriteSql"/> (for dialects that build their own batch commands).</summary>
    /// <param name="write">The write.</param>
    /// <param name="now">The current time in Unix milliseconds.</param>
    /// <returns>Name, value and type of each parameter.</returns>
    public IEnumerable<(string Name, object? Value, DbType Type)> WriteParameters(SqlWrite write, long now)
    {
        yield return ("@ns", _ns, DbType.String);
        yield return ("@key", write.Key, DbType.String);
        yield return ("@now", now, DbType.Int64);
        yield return ("@value", WholeArray.Of(write.Value), DbType.Binary);
        yield return ("@exp", write.ExpiresAt, DbType.Int64);
        yield return ("@keep", write.KeepExpiry ? 1 : 0, DbType.Int32);
        if (write.ExpectedVersion is > 0)
        {
            yield return ("@expected", write.ExpectedVersion.Value, DbType.Int64);
        }
    }

    /// <summary>Writes an entry at a given version unless a live row holds that version or a higher one (one statement).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="version">The version to keep.</param>
    /// <param name="expiresAt">The expiry, if any.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>Whether the entry was written.</returns>
    public ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        var expiry = ToUnix(_guard.ValidateVersionedWrite(key, value, version, expiresAt, "SetAtVersion"));
        ValidateKeyBytes(key, "SetAtVersion");
        return RunAsync("SetAtVersion", key, write: true, async (c, ct) =>
        {
            using var cmd = Command(c, _setAtVersion, null, key, Now);
            Add(cmd.Cmd, "@value", WholeArray.Of(value), DbType.Binary);
            Add(cmd.Cmd, "@version", version, DbType.Int64);
            Add(cmd.Cmd, "@exp", expiry, DbType.Int64);
            return await cmd.Cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not (null or DBNull);
        }, cancellationToken);
    }

    /// <summary>Deletes an entry, optionally only at an expected version.</summary>
    /// <param name="key">The key.</param>
    /// <param name="expectedVersion">The expected version.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>Whether a live entry was deleted.</returns>
    public ValueTask<bool> DeleteAsync(string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        Enter("Delete", key, cancellationToken);
        _guard.ValidateDeleteVersion(expectedVersion);
        return RunAsync("Delete", key, write: true, async (c, ct) =>
        {
            var now = Now;
            if (expectedVersion is { } expected)
            {
                using var conditional = Command(c, _deleteIfVersion, null, key, now);
                Add(conditional.Cmd, "@expected", expected, DbType.Int64);
                if (await conditional.Cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is null or DBNull)
                {
                    throw await ConflictAsync(c, "Delete", key, expected, now, ct).ConfigureAwait(false);
                }

                return true;
            }

            using var cmd = Command(c, _delete, null, key);
            await using var reader = await cmd.Cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false) && (reader.IsDBNull(0) || reader.GetInt64(0) > now);
        }, cancellationToken);
    }

    /// <summary>Tells whether a live entry exists.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>Whether it exists.</returns>
    public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken)
    {
        Enter("Exists", key, cancellationToken);
        return RunAsync("Exists", key, write: false, async (c, ct) =>
        {
            using var cmd = Command(c, _exists, null, key, Now);
            return await cmd.Cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not (null or DBNull);
        }, cancellationToken);
    }

    /// <summary>Sets a live entry's expiry without rewriting it.</summary>
    /// <param name="key">The key.</param>
    /// <param name="timeToLive">The new time to live.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>Whether a live entry was found.</returns>
    public ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        TouchAsync(_touch, "Touch", key, timeToLive, cancellationToken);

    /// <summary>Streams the live keys that start with <paramref name="prefix"/>, in ordinal order, a page at a time.</summary>
    /// <param name="prefix">The prefix.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The keys.</returns>
    public async IAsyncEnumerable<string> ListKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidatePrefix(prefix, "ListKeys");

        var upper = PrefixUpperBound(prefix);
        var after = string.Empty;
        while (true)
        {
            var page = await RunAsync("ListKeys", null, write: false, async (c, ct) =>
            {
                using var cmd = Command(c, _listKeys, null, null, Now);
                Add(cmd.Cmd, "@from", prefix, DbType.String);
                Add(cmd.Cmd, "@to", upper, DbType.String);
                Add(cmd.Cmd, "@after", after, DbType.String);
                var keys = new List<string>(PageSize);
                await using var reader = await cmd.Cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    keys.Add(reader.GetString(0));
                }

                return keys;
            }, cancellationToken).ConfigureAwait(false);

            foreach (var key in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return key;
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            after = page[^1];
        }
    }

    /// <summary>Removes expired entries and lists of this namespace in batches.</summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>How many entries and lists were removed.</returns>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        var now = Now;
        long removed = 0;
        while (true)
        {
            var count = await RunAsync("PurgeExpired", null, write: true, async (c, ct) =>
            {
                using var cmd = Command(c, _purgeEntries, null, null, now);
                return await cmd.Cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            removed += count;
            if (count < PurgeBatch)
            {
                break;
            }
        }

        while (true)
        {
            var count = await RunAsync("PurgeExpired", null, write: true, async (c, ct) =>
            {
                await using var transaction = await _dialect.BeginWriteAsync(c, ct).ConfigureAwait(false);
                using (var items = Command(c, _purgeItems, transaction, null, now))
                {
                    await items.Cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                using var lists = Command(c, _purgeLists, transaction, null, now);
                var n = await lists.Cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                await transaction.CommitAsync(ct).ConfigureAwait(false);
                return n;
            }, cancellationToken).ConfigureAwait(false);
            removed += count;
            if (count < PurgeBatch)
            {
                return removed;
            }
        }
    }

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
                var sql = new StringBuilder($"INSERT INTO {_dialect.Tables.Items} (ns, key, seq, value) VALUES ");
                using var insert = Command(c, string.Empty, transaction, key);
                for (var i = 0; i < count; i++)
                {
                    sql.Append(i == 0 ? "(@ns, @key, @s" : ", (@ns, @key, @s").Append(i).Append(", @v").Append(i).Append(')');
                    Add(insert.Cmd, "@s" + i, first + offset + i, DbType.Int64);
                    Add(insert.Cmd, "@v" + i, WholeArray.Of(items[offset + i]), DbType.Binary);
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
            long expected = 0;
            await using var reader = await cmd.Cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                if (range is null)
                {
                    range = StateListRange.Resolve(start, stop, CheckedLength(reader.GetInt64(0), key, "ListRange"));
                    expected = range.Value.Offset;
                }

                if (reader.IsDBNull(2))
                {
                    continue;
                }

                if (reader.GetInt64(1) != expected++)
                {
                    throw ListDamaged(key, "ListRange", $"item {expected - 1} has no row");
                }

                items.Add((byte[])reader.GetValue(2));
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

    /// <summary>Runs <c>SELECT 1</c> and the schema check; for health checks.</summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The schema version in use.</returns>
    public ValueTask<int> PingAsync(CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        return RunAsync("Ping", null, write: false, async (c, ct) =>
        {
            using var cmd = new PooledCommand(_dialect.Command(c, "SELECT 1", cacheable: true), _dialect);
            await cmd.Cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
            return _dialect.SchemaVersion;
        }, cancellationToken);
    }

    /// <summary>
    /// The smallest string greater than every string that starts with <paramref name="prefix"/> in code-point
    /// (UTF-8 byte) order, or <see langword="null"/> when there is none (or the prefix is empty).
    /// </summary>
    /// <param name="prefix">The prefix.</param>
    /// <returns>The exclusive upper bound.</returns>
    internal static string? PrefixUpperBound(string prefix)
    {
        var runes = prefix.EnumerateRunes().ToList();
        while (runes.Count > 0)
        {
            var last = runes[^1].Value;
            runes.RemoveAt(runes.Count - 1);
            if (last < 0x10FFFF)
            {
                var next = last + 1 == 0xD800 ? 0xE000 : last + 1;
                var builder = new StringBuilder(prefix.Length + 1);
                foreach (var rune in runes)
                {
                    builder.Append(rune.ToString());
                }

                return builder.Append(new Rune(next).ToString()).ToString();
            }
        }

        return null;
    }

    /// <summary>Marks the store disposed: every later call throws <see cref="ObjectDisposedException"/>.</summary>
    /// <returns><see langword="true"/> the first time.</returns>
    public bool MarkDisposed() => _guard.MarkDisposed();

    private static long? ToUnix(DateTimeOffset? at) => at?.ToUnixTimeMilliseconds();

    private long CheckedLength(long length, string key, string operation) =>
        length >= 0 ? length : throw ListDamaged(key, operation, $"its head is {-length} past its tail");

    private StateCorruptedException ListDamaged(string key, string operation, string detail) =>
        new(_guard.StoreName, operation, key, "the list's rows are inconsistent: " + detail, _dialect.Location);

    /// <summary>The entry check of a one-key operation: disposed, cancelled, the key rules and the backend's key size.</summary>
    private void Enter(string operation, string key, CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, operation);
        ValidateKeyBytes(key, operation);
    }

    /// <summary>
    /// Refuses a key the backend's index cannot hold (PostgreSQL's B-tree rows are limited to about 2.7 KB) with
    /// <see cref="InvalidStateKeyException"/> before anything is sent, instead of a server error at write time.
    /// </summary>
    private void ValidateKeyBytes(string key, string operation)
    {
        if (_dialect.MaxKeyBytes is { } limit && key.Length * 3 > limit - _nsBytes && Encoding.UTF8.GetByteCount(key) + _nsBytes > limit)
        {
            throw new InvalidStateKeyException(_guard.StoreName, key, operation, $"the key is {Encoding.UTF8.GetByteCount(key)} UTF-8 bytes; this backend indexes at most {limit} bytes of key and key prefix together ({limit - _nsBytes} for this prefix)");
        }
    }

    private static void Add(DbCommand cmd, string name, object? value, DbType type)
    {
        // A reused (prepared) command keeps its parameter objects: only the values change.
        var index = cmd.Parameters.Count > 0 ? cmd.Parameters.IndexOf(name) : -1;
        if (index >= 0)
        {
            cmd.Parameters[index].Value = value ?? DBNull.Value;
            return;
        }

        var parameter = cmd.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        parameter.Value = value ?? DBNull.Value;
        cmd.Parameters.Add(parameter);
    }

    private SqlWrite ToWrite(string key, ReadOnlyMemory<byte> value, StateWriteOptions options) =>
        new(key, value, options.ExpectedVersion, ToUnix(_guard.ResolveExpiry(options.TimeToLive)), StateStoreGuard.KeepsExpiry(options.TimeToLive));

    private PooledCommand Command(DbConnection connection, string sql, DbTransaction? transaction, string? key, long? now = null)
    {
        var cmd = _dialect.Command(connection, sql, cacheable: sql.Length > 0);
        cmd.Transaction = transaction;
        Add(cmd, "@ns", _ns, DbType.String);
        if (key is not null)
        {
            Add(cmd, "@key", key, DbType.String);
        }

        if (now is { } n)
        {
            Add(cmd, "@now", n, DbType.Int64);
        }

        return new PooledCommand(cmd, _dialect);
    }

    private StateEntry ReadEntry(DbDataReader reader, string key, string operation, int first)
    {
        var version = reader.GetInt64(first + 1);
        if (version < 1 || reader.IsDBNull(first))
        {
            throw new StateCorruptedException(_guard.StoreName, operation, key, $"the row has version {version} or no value", _dialect.Location);
        }

        DateTimeOffset? expiresAt = reader.IsDBNull(first + 2) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(first + 2));
        return new StateEntry(key, (byte[])reader.GetValue(first), version, expiresAt);
    }

    private async ValueTask<StateConflictException> ConflictAsync(DbConnection connection, string operation, string key, long expected, long now, CancellationToken cancellationToken)
    {
        using var cmd = Command(connection, _version, null, key, now);
        var current = await cmd.Cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return new StateConflictException(_guard.StoreName, operation, key, expected, current is null or DBNull ? 0 : Convert.ToInt64(current, System.Globalization.CultureInfo.InvariantCulture));
    }

    private ValueTask<bool> TouchAsync(string sql, string operation, string key, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        Enter(operation, key, cancellationToken);
        StateStoreGuard.ValidateTimeToLive(timeToLive);
        var expiry = ToUnix(_guard.ExpiryFrom(timeToLive));
        return RunAsync(operation, key, write: true, async (c, ct) =>
        {
            using var cmd = Command(c, sql, null, key, Now);
            Add(cmd.Cmd, "@exp", expiry, DbType.Int64);
            return await cmd.Cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
        }, cancellationToken);
    }

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

    private async ValueTask<T> RunAsync<T>(string operation, string? key, bool write, Func<DbConnection, CancellationToken, ValueTask<T>> action, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        for (var attempt = 1; ; attempt++)
        {
            DbConnection? connection = null;
            var sent = false;
            try
            {
                connection = await _dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
                await EnsureSchemaAsync(connection, cancellationToken).ConfigureAwait(false);
                sent = true;
                var result = await action(connection, cancellationToken).ConfigureAwait(false);
                await _dialect.ReleaseAsync(connection, broken: false).ConfigureAwait(false);
                return result;
            }
            catch (Exception ex) when (ex is not StateStoreException && !cancellationToken.IsCancellationRequested && _dialect.Classify(ex) is var failure && failure != SqlFailure.Unknown)
            {
                if (connection is not null)
                {
                    await _dialect.ReleaseAsync(connection, broken: true).ConfigureAwait(false);
                }

                var indeterminate = write && sent && failure == SqlFailure.TransientMaybeApplied;
                var retry = failure == SqlFailure.TransientNotApplied || (failure == SqlFailure.TransientMaybeApplied && !indeterminate);
                if (retry && attempt < _dialect.MaxAttempts)
                {
                    await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (failure == SqlFailure.Corrupt)
                {
                    throw new StateCorruptedException(_guard.StoreName, operation, key, ex.Message, _dialect.Location, ex);
                }

                var detail = retry ? $"it still failed after {attempt} attempts: {ex.Message}" : $"it failed: {ex.Message}";
                throw new StateStoreUnavailableException(_guard.StoreName, operation, key, detail, ex, indeterminate);
            }
            catch
            {
                if (connection is not null)
                {
                    await _dialect.ReleaseAsync(connection, broken: false).ConfigureAwait(false);
                }

                throw;
            }
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(_dialect.MaxRetryDelay.TotalMilliseconds, _dialect.RetryDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));

        // Full jitter (AWS architecture blog): spreads reconnect storms of many instances.
        return TimeSpan.FromMilliseconds((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2));
    }

    private async ValueTask EnsureSchemaAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (_schemaReady)
        {
            return;
        }

        await _schemaLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_schemaReady)
            {
                return;
            }

            await using var transaction = await _dialect.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
            await _dialect.LockSchemaAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            var version = 0;
            if (await _dialect.SchemaTableExistsAsync(connection, transaction, cancellationToken).ConfigureAwait(false))
            {
                using var read = new PooledCommand(_dialect.Command(connection, $"SELECT version FROM {_dialect.Tables.Schema} WHERE id = 1", cacheable: false), _dialect);
                read.Cmd.Transaction = transaction;
                var found = await read.Cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                version = found is null or DBNull ? 0 : Convert.ToInt32(found, System.Globalization.CultureInfo.InvariantCulture);
            }

            if (version > _dialect.SchemaVersion)
            {
                throw new StateSchemaVersionException(_guard.StoreName, _dialect.Location, version, _dialect.SchemaVersion);
            }

            for (; version < _dialect.SchemaVersion; version++)
            {
                foreach (var statement in _dialect.Migration(version))
                {
                    using var migrate = new PooledCommand(_dialect.Command(connection, statement, cacheable: false), _dialect);
                    migrate.Cmd.Transaction = transaction;
                    await migrate.Cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                using var mark = new PooledCommand(_dialect.Command(connection, $"UPDATE {_dialect.Tables.Schema} SET version = {version + 1} WHERE id = 1", cacheable: false), _dialect);
                mark.Cmd.Transaction = transaction;
                await mark.Cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _schemaReady = true;
        }
        finally
        {
            _schemaLock.Release();
        }
    }
}
