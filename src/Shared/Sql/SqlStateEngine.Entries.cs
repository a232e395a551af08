using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text;
using StateKit.Adapters;
using StateKit.Serialization;

namespace StateKit.Sql;

/// <content>Entries: reads, writes (single, batch, version-preserving), deletes, touches, listing and purge.</content>
internal sealed partial class SqlStateEngine
{
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
                var sql = new StringBuilder($"SELECT value, version, expires_at, crc, crc_version, key FROM {_dialect.Tables.Entries} WHERE ns = @ns AND {Live} AND key IN (");
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
                    var key = reader.GetString(5);
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
        yield return ("@crc", (long)Crc32C.Keyed(write.Key, Crc32C.EntryPosition, write.Value.Span), DbType.Int64);
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
            using var cmd = Command(c, _setAtVersion, null, null);
            foreach (var (name, parameter, type) in SetAtVersionParameters(key, value, version, expiry, Now))
            {
                Add(cmd.Cmd, name, parameter, type);
            }

            return await cmd.Cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not (null or DBNull);
        }, cancellationToken);
    }

    /// <summary>Version-preserving writes of many entries in one transaction (all or nothing).</summary>
    /// <param name="entries">The entries.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>For each entry, whether it was written.</returns>
    public async ValueTask<IReadOnlyList<bool>> SetManyAtVersionAsync(IReadOnlyList<StateEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        _guard.Enter(cancellationToken);
        var expiries = new long?[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i] ?? throw new ArgumentException("An entry is null.", nameof(entries));
            expiries[i] = ToUnix(_guard.ValidateVersionedWrite(entry.Key, entry.Value, entry.Version, entry.ExpiresAt, "SetManyAtVersion"));
            ValidateKeyBytes(entry.Key, "SetManyAtVersion");
        }

        if (entries.Count == 0)
        {
            return Array.Empty<bool>();
        }

        return await RunAsync("SetManyAtVersion", null, write: true, async (c, ct) =>
        {
            var now = Now;
            if (await _dialect.SetManyAtVersionAsync(this, c, entries, expiries, now, ct).ConfigureAwait(false) is { } batched)
            {
                return batched;
            }

            var written = new bool[entries.Count];
            await using var transaction = await _dialect.BeginWriteAsync(c, ct).ConfigureAwait(false);
            for (var i = 0; i < entries.Count; i++)
            {
                using var cmd = Command(c, _setAtVersion, transaction, null);
                foreach (var (name, value, type) in SetAtVersionParameters(entries[i].Key, entries[i].Value, entries[i].Version, expiries[i], now))
                {
                    Add(cmd.Cmd, name, value, type);
                }

                written[i] = await cmd.Cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not (null or DBNull);
            }

            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return (IReadOnlyList<bool>)written;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The statement of a version-preserving write: one row when it wrote, none when the store holds that version or a newer one.</summary>
    public string SetAtVersionSql => _setAtVersion;

    /// <summary>The parameters of <see cref="SetAtVersionSql"/> but <c>@ns</c> (for dialects that build their own batch commands).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="version">The version to write at.</param>
    /// <param name="expiry">Its expiry in Unix milliseconds.</param>
    /// <param name="now">The current time in Unix milliseconds.</param>
    /// <returns>Name, value and type of each parameter.</returns>
    public IEnumerable<(string Name, object? Value, DbType Type)> SetAtVersionParameters(string key, ReadOnlyMemory<byte> value, long version, long? expiry, long now)
    {
        yield return ("@key", key, DbType.String);
        yield return ("@now", now, DbType.Int64);
        yield return ("@value", WholeArray.Of(value), DbType.Binary);
        yield return ("@version", version, DbType.Int64);
        yield return ("@exp", expiry, DbType.Int64);
        yield return ("@crc", (long)Crc32C.Keyed(key, Crc32C.EntryPosition, value.Span), DbType.Int64);
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

    /// <summary>Streams the live keys that start with <paramref name="prefix"/>, in ordinal order, a page at a time.</summary>
    /// <param name="prefix">The prefix.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The keys.</returns>
    public IAsyncEnumerable<string> ListKeysAsync(string prefix, CancellationToken cancellationToken) =>
        PagesAsync(_listKeys, "ListKeys", prefix, static r => r.GetString(0), static k => k, cancellationToken);

    /// <summary>Streams the live lists whose key starts with <paramref name="prefix"/>, in ordinal order, a page at a time.</summary>
    /// <param name="prefix">The prefix.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The lists, with their expiry.</returns>
    public IAsyncEnumerable<StateListInfo> ListListsAsync(string prefix, CancellationToken cancellationToken) =>
        PagesAsync(
            _listLists,
            "ListLists",
            prefix,
            static r => new StateListInfo(r.GetString(0), r.IsDBNull(1) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1))),
            static l => l.Key,
            cancellationToken);

    /// <summary>Runs a keyset-paged listing query (<c>@from</c>, <c>@to</c>, <c>@after</c>) until a page comes back short.</summary>
    private async IAsyncEnumerable<T> PagesAsync<T>(string sql, string operation, string prefix, Func<DbDataReader, T> read, Func<T, string> keyOf, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidatePrefix(prefix, operation);

        var upper = PrefixUpperBound(prefix);
        var after = string.Empty;
        while (true)
        {
            var page = await RunAsync(operation, null, write: false, async (c, ct) =>
            {
                using var cmd = Command(c, sql, null, null, Now);
                Add(cmd.Cmd, "@from", prefix, DbType.String);
                Add(cmd.Cmd, "@to", upper, DbType.String);
                Add(cmd.Cmd, "@after", after, DbType.String);
                var rows = new List<T>(PageSize);
                await using var reader = await cmd.Cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    rows.Add(read(reader));
                }

                return rows;
            }, cancellationToken).ConfigureAwait(false);

            foreach (var row in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return row;
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            after = keyOf(page[^1]);
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

    private SqlWrite ToWrite(string key, ReadOnlyMemory<byte> value, StateWriteOptions options) =>
        new(key, value, options.ExpectedVersion, ToUnix(_guard.ResolveExpiry(options.TimeToLive)), StateStoreGuard.KeepsExpiry(options.TimeToLive));

    private StateEntry ReadEntry(DbDataReader reader, string key, string operation, int first)
    {
        var version = reader.GetInt64(first + 1);
        if (version < 1 || reader.IsDBNull(first))
        {
            throw new StateCorruptedException(_guard.StoreName, operation, key, $"the row has version {version} or no value", _dialect.Location);
        }

        DateTimeOffset? expiresAt = reader.IsDBNull(first + 2) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(first + 2));
        var value = (byte[])reader.GetValue(first);

        // The checksum holds for the version it was written with; a row a writer without checksums changed since (an
        // older StateKit during a rolling upgrade) has moved on from it and is read unverified, like a legacy row.
        if (!reader.IsDBNull(first + 3) && !reader.IsDBNull(first + 4) && reader.GetInt64(first + 4) == version
            && reader.GetInt64(first + 3) != Crc32C.Keyed(key, Crc32C.EntryPosition, value))
        {
            throw new StateCorruptedException(_guard.StoreName, operation, key, "the stored value does not match its checksum (damaged, or copied from another key)", _dialect.Location);
        }

        return new StateEntry(key, value, version, expiresAt);
    }

    private async ValueTask<StateConflictException> ConflictAsync(DbConnection connection, string operation, string key, long expected, long now, CancellationToken cancellationToken)
    {
        using var cmd = Command(connection, _version, null, key, now);
        var current = await cmd.Cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return new StateConflictException(_guard.StoreName, operation, key, expected, current is null or DBNull ? 0 : Convert.ToInt64(current, System.Globalization.CultureInfo.InvariantCulture));
    }
}
