using System.Data;
using System.Data.Common;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Adapters;

namespace StateKit.Sql;

/// <summary>
/// The <see cref="IStateStore"/> behaviour over SQL tables, shared by the SQLite and PostgreSQL stores.
/// Entries live in one row each (value, version, expires_at in Unix milliseconds); a list is a head row
/// (head and tail sequence numbers, expiry) plus one row per item. Every write is one statement or one
/// transaction; expired rows are filtered by every read and removed in batches by <see cref="PurgeExpiredAsync"/>.
/// </summary>
/// <remarks>Source shared by StateKit.Sqlite and StateKit.Postgres (linked, compiled into each, internal).</remarks>
internal sealed partial class SqlStateEngine
{
    private const int ChunkSize = 200;
    private const int PageSize = 500;
    private const int PurgeBatch = 1000;
    private const long IndexLimit = 1L << 62;
    private const string Live = "(expires_at IS NULL OR expires_at > @now)";

    private readonly SqlDialect _dialect;
    private readonly ILogger _logger;
    private readonly StateStoreGuard _guard;
    private readonly string _ns;
    private readonly int _nsBytes;
    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private volatile bool _schemaReady;

    private readonly string _get, _exists, _version, _insertOrReplace, _insertIfAbsent, _setAtVersion, _update, _delete, _deleteIfVersion, _touch;
    private readonly string _listKeys, _listLists, _purgeEntries, _purgeItems, _purgeLists;
    private readonly string _listUpsert, _listClearItems, _listRange, _listLength, _listHead, _listSetBounds, _listTrimItems, _listDelete, _listTouch;

    /// <summary>Initializes a new instance of the <see cref="SqlStateEngine"/> class.</summary>
    /// <param name="dialect">The backend.</param>
    /// <param name="guard">The argument checks and clock.</param>
    /// <param name="logger">Where retries are logged; none when <see langword="null"/>.</param>
    public SqlStateEngine(SqlDialect dialect, StateStoreGuard guard, ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _dialect = dialect;
        _guard = guard;
        _ns = guard.Options.KeyPrefix;
        _nsBytes = Encoding.UTF8.GetByteCount(_ns);
        var t = dialect.Tables;
        var e = t.Entries;
        _get = $"SELECT value, version, expires_at, crc, crc_version FROM {e} WHERE ns = @ns AND key = @key AND {Live}";
        _exists = $"SELECT 1 FROM {e} WHERE ns = @ns AND key = @key AND {Live}";
        _version = $"SELECT version FROM {e} WHERE ns = @ns AND key = @key AND {Live}";
        const string expired = "(e.expires_at IS NOT NULL AND e.expires_at <= @now)";
        var nextVersion = $"CASE WHEN {expired} THEN 1 ELSE e.version + 1 END";
        var upsert = $"INSERT INTO {e} AS e (ns, key, value, version, expires_at, crc, crc_version) VALUES (@ns, @key, @value, 1, @exp, @crc, 1) " +
            $"ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = CASE WHEN @keep = 1 AND NOT {expired} THEN e.expires_at ELSE excluded.expires_at END, " +
            $"version = {nextVersion}, crc = excluded.crc, crc_version = {nextVersion}";
        _insertOrReplace = upsert + " RETURNING version";
        _insertIfAbsent = upsert + $" WHERE {expired} RETURNING version";
        _setAtVersion = $"INSERT INTO {e} AS e (ns, key, value, version, expires_at, crc, crc_version) VALUES (@ns, @key, @value, @version, @exp, @crc, @version) " +
            $"ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at, crc = excluded.crc, crc_version = excluded.version " +
            $"WHERE e.version < excluded.version OR {expired} RETURNING version";
        _update = $"UPDATE {e} SET value = @value, version = version + 1, crc = @crc, crc_version = version + 1, expires_at = CASE WHEN @keep = 1 THEN expires_at ELSE @exp END WHERE ns = @ns AND key = @key AND version = @expected AND {Live} RETURNING version";
        _delete = $"DELETE FROM {e} WHERE ns = @ns AND key = @key RETURNING expires_at";
        _deleteIfVersion = $"DELETE FROM {e} WHERE ns = @ns AND key = @key AND version = @expected AND {Live} RETURNING version";
        _touch = $"UPDATE {e} SET expires_at = @exp WHERE ns = @ns AND key = @key AND {Live}";
        _listKeys = $"SELECT key FROM {e} WHERE ns = @ns AND key >= @from AND (@to IS NULL OR key < @to) AND key > @after AND {Live} ORDER BY key LIMIT {PageSize}";
        _listLists = $"SELECT key, expires_at FROM {t.Lists} WHERE ns = @ns AND key >= @from AND (@to IS NULL OR key < @to) AND key > @after AND tail > head AND {Live} ORDER BY key LIMIT {PageSize}";
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
            $"SELECT h.len, i.seq - h.head, i.value, COALESCE(i.crc, -1), h.head FROM h LEFT JOIN {t.Items} i ON i.ns = @ns AND i.key = @key " +
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

    /// <summary>Gets the store's argument checks, clock and options (limits, default time to live).</summary>
    public StateStoreGuard Guard => _guard;

    /// <summary>Gets the namespace (the store's key prefix) every row of this store carries.</summary>
    public string Namespace => _ns;

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

}
