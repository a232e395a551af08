using System.Collections.Concurrent;
using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using StateKit.Sql;

namespace StateKit.Sqlite.Internal;

/// <summary>
/// SQLite specifics: a small pool of open connections, each keeping its prepared commands; WAL journal with
/// full sync; <c>BEGIN IMMEDIATE</c> write transactions; busy waits handled by SQLite's busy timeout.
/// </summary>
internal sealed class SqliteDialect : SqlDialect, IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly int _busyTimeoutMs;
    private readonly int _maxPoolSize;
    private readonly ConcurrentBag<SqliteConnection> _idle = [];
    private readonly ConditionalWeakTable<DbConnection, CommandCache> _caches = new();
    private int _idleCount;
    private long _writes;
    private int _maintaining;
    private volatile bool _disposed;

    public SqliteDialect(SqliteStateStoreOptions options)
    {
        var builder = ParseConnectionString(options.ConnectionString);
        builder.Pooling = false;
        builder.DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds));
        if (builder.Mode is SqliteOpenMode.ReadWriteCreate && !string.IsNullOrEmpty(builder.DataSource) && builder.DataSource != ":memory:")
        {
            var path = Path.GetFullPath(builder.DataSource);
            try
            {
                var directory = Path.GetDirectoryName(path);
                if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
                {
                    StateKit.Internal.PrivateFiles.CreateDirectory(directory, options.FileMode);
                }

                // Created here, empty (a valid new database), so that it is private from the start: SQLite would create it
                // with the umask's mode, and its WAL and shared-memory files copy the database file's mode.
                if (!builder.DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
                {
                    StateKit.Internal.PrivateFiles.EnsureExists(path, options.FileMode);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new StateStoreConfigurationException("sqlite", "Open", null, $"the database file '{path}' cannot be created: {ex.Message}", ex);
            }
        }

        _connectionString = builder.ToString();
        _busyTimeoutMs = (int)Math.Min(int.MaxValue, options.BusyTimeout.TotalMilliseconds);
        _maxPoolSize = options.MaxPoolSize;
        Location = builder.DataSource;
        var p = options.TablePrefix;
        Tables = new SqlTables(
            SqlIdentifiers.Quote(p + "_entries"),
            SqlIdentifiers.Quote(p + "_lists"),
            SqlIdentifiers.Quote(p + "_list_items"),
            SqlIdentifiers.Quote(p + "_schema"));
        SchemaTableName = p + "_schema";
        ChangesTable = SqlIdentifiers.Quote(p + "_changes");
        IndexPrefix = p;
    }

    public override SqlTables Tables { get; }

    public override string Location { get; }

    public override string ForUpdate => string.Empty;

    public override int SchemaVersion => 4;

    /// <summary>The change log table (schema version 2): one row per committed change, written by triggers.</summary>
    public string ChangesTable { get; }

    public override int MaxAttempts => 3;

    public override TimeSpan RetryDelay => TimeSpan.FromMilliseconds(20);

    public override TimeSpan MaxRetryDelay => TimeSpan.FromMilliseconds(500);

    private string SchemaTableName { get; }

    private string IndexPrefix { get; }

    /// <summary>Turns a path or a connection string into a connection-string builder.</summary>
    /// <param name="value">A file path or a connection string.</param>
    /// <returns>The builder.</returns>
    public static SqliteConnectionStringBuilder ParseConnectionString(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        return value.Contains('=', StringComparison.Ordinal)
            ? new SqliteConnectionStringBuilder(value)
            : new SqliteConnectionStringBuilder { DataSource = value };
    }

    public override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryTake(out var pooled))
        {
            Interlocked.Decrement(ref _idleCount);
            return pooled;
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var pragma = connection.CreateCommand();
            pragma.CommandText = $"PRAGMA busy_timeout = {_busyTimeoutMs}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA journal_size_limit = {JournalSizeLimit};";
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override async ValueTask ReleaseAsync(DbConnection connection, bool broken)
    {
        if (!broken && !_disposed && Interlocked.Increment(ref _idleCount) <= _maxPoolSize)
        {
            _idle.Add((SqliteConnection)connection);
            return;
        }

        if (!broken && !_disposed)
        {
            Interlocked.Decrement(ref _idleCount);
        }

        await CloseAsync(connection).ConfigureAwait(false);
    }

    public override DbCommand Command(DbConnection connection, string sql, bool cacheable)
    {
        if (cacheable)
        {
            var cache = _caches.GetOrCreateValue(connection);
            if (cache.Commands.TryGetValue(sql, out var cached) && cache.InUse.Add(cached))
            {
                cached.Transaction = null; // parameters stay: the same statement always binds the same names
                return cached;
            }

            if (cached is null)
            {
                var created = ((SqliteConnection)connection).CreateCommand();
                created.CommandText = sql;
                cache.Commands[sql] = created;
                cache.InUse.Add(created);
                return created;
            }
        }

        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    public override void Return(DbCommand command)
    {
        if (command.Connection is { } connection && _caches.TryGetValue(connection, out var cache) && cache.InUse.Remove((SqliteCommand)command))
        {
            return;
        }

        command.Dispose();
    }

    public override ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
    }

    public override IReadOnlyList<string> Migration(int fromVersion) => fromVersion switch
    {
        0 =>
        [
            $"CREATE TABLE IF NOT EXISTS {Tables.Schema} (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)",
            $"INSERT INTO {Tables.Schema} (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
            $"CREATE TABLE IF NOT EXISTS {Tables.Entries} (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, version INTEGER NOT NULL, expires_at INTEGER, PRIMARY KEY (ns, key))",
            $"CREATE INDEX IF NOT EXISTS {SqlIdentifiers.Quote(IndexPrefix + "_entries_expiry")} ON {Tables.Entries} (ns, expires_at) WHERE expires_at IS NOT NULL",
            $"CREATE TABLE IF NOT EXISTS {Tables.Lists} (ns TEXT NOT NULL, key TEXT NOT NULL, head INTEGER NOT NULL, tail INTEGER NOT NULL, expires_at INTEGER, PRIMARY KEY (ns, key)) WITHOUT ROWID",
            $"CREATE INDEX IF NOT EXISTS {SqlIdentifiers.Quote(IndexPrefix + "_lists_expiry")} ON {Tables.Lists} (ns, expires_at) WHERE expires_at IS NOT NULL",
            $"CREATE TABLE IF NOT EXISTS {Tables.Items} (ns TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ns, key, seq))",
        ],

        // Version 2: a change log, written by triggers in the writing transaction, that other processes poll (the
        // store's change feed). kind: s set/touch, d delete, a list append, l other list change; version: the entry's
        // version, or the list's length after. Rows older than ten minutes are pruned by the watchers.
        1 =>
        [
            $"CREATE TABLE IF NOT EXISTS {ChangesTable} (seq INTEGER PRIMARY KEY AUTOINCREMENT, ns TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, version INTEGER NOT NULL, at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)))",
            Trigger("entries_insert", "INSERT", Tables.Entries, "NEW.ns, NEW.key, 's', NEW.version"),
            Trigger("entries_update", "UPDATE", Tables.Entries, "NEW.ns, NEW.key, 's', NEW.version"),
            Trigger("entries_delete", "DELETE", Tables.Entries, "OLD.ns, OLD.key, 'd', OLD.version"),
            Trigger("lists_insert", "INSERT", Tables.Lists, "NEW.ns, NEW.key, 'a', NEW.tail - NEW.head"),
            Trigger("lists_update", "UPDATE", Tables.Lists, "NEW.ns, NEW.key, CASE WHEN NEW.tail > OLD.tail THEN 'a' ELSE 'l' END, NEW.tail - NEW.head"),
            Trigger("lists_delete", "DELETE", Tables.Lists, "OLD.ns, OLD.key, 'l', 0"),
        ],

        // Version 3: a touch (an update that keeps the version) is logged as 't', so caches drop the entry whose expiry moved.
        2 =>
        [
            $"DROP TRIGGER IF EXISTS {SqlIdentifiers.Quote(IndexPrefix + "_entries_update")}",
            Trigger("entries_update", "UPDATE", Tables.Entries, "NEW.ns, NEW.key, CASE WHEN NEW.version = OLD.version THEN 't' ELSE 's' END, NEW.version"),
        ],

        // Version 4: a checksum beside every value and list item (see ChecksumMigration).
        3 => ChecksumMigration("INTEGER"),
        _ => throw new InvalidOperationException($"No migration from schema version {fromVersion}."),
    };

    private string Trigger(string name, string operation, string table, string values) =>
        $"CREATE TRIGGER IF NOT EXISTS {SqlIdentifiers.Quote(IndexPrefix + "_" + name)} AFTER {operation} ON {table} BEGIN INSERT INTO {ChangesTable} (ns, key, kind, version) VALUES ({values}); END";

    public override ValueTask LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask; // BEGIN IMMEDIATE already serializes set-up between processes.

    public override async ValueTask<bool> SchemaTableExistsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        using var cmd = ((SqliteConnection)connection).CreateCommand();
        cmd.Transaction = (SqliteTransaction)transaction;
        cmd.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $name";
        cmd.Parameters.AddWithValue("$name", SchemaTableName);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    public override SqlFailure Classify(Exception exception) => exception switch
    {
        SqliteException { SqliteErrorCode: 5 or 6 } => SqlFailure.TransientNotApplied, // BUSY, LOCKED after the busy timeout
        SqliteException { SqliteErrorCode: 11 or 26 } => SqlFailure.Corrupt, // CORRUPT, NOTADB
        SqliteException { SqliteErrorCode: 8 or 14 or 23 } => SqlFailure.Configuration, // READONLY, CANTOPEN, AUTH: permissions and paths
        UnauthorizedAccessException => SqlFailure.Configuration,
        SqliteException => SqlFailure.Permanent,
        IOException or UnauthorizedAccessException => SqlFailure.Permanent,
        _ => SqlFailure.Unknown,
    };

    /// <summary>The size the WAL file is cut back to after a checkpoint that emptied it: 64 MB.</summary>
    public const long JournalSizeLimit = 64L * 1024 * 1024;

    /// <summary>How long change-log rows are kept for watchers (also without any: the writers prune).</summary>
    public static readonly TimeSpan ChangeRetention = TimeSpan.FromMinutes(10);

    /// <summary>Gets or sets how many writes pass between two upkeep runs (pruning and a WAL checkpoint): 1,000; fewer in tests.</summary>
    internal int MaintainEvery { get; set; } = 1000;

    /// <summary>Gets or sets the most change-log rows kept, whatever their age: 100,000 (a watcher further behind resyncs).</summary>
    internal long MaxChangeRows { get; set; } = 100_000;

    /// <summary>Gets the last upkeep run started (tests wait for it).</summary>
    internal Task LastMaintenance { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Every <see cref="MaintainEvery"/> writes, in the background (one run at a time): the change log is pruned to
    /// <see cref="ChangeRetention"/> and <see cref="MaxChangeRows"/> by the writers themselves, so it stays bounded with no
    /// watcher running, and the WAL is checkpointed and truncated, so sustained writes with readers around do not grow it.
    /// </summary>
    public override void Written()
    {
        if (Interlocked.Increment(ref _writes) % MaintainEvery != 0 || _disposed || Interlocked.CompareExchange(ref _maintaining, 1, 0) != 0)
        {
            return;
        }

        LastMaintenance = Task.Run(async () =>
        {
            try
            {
                await MaintainAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SqliteException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                // upkeep only: the next run tries again
            }
            finally
            {
                Volatile.Write(ref _maintaining, 0);
            }
        });
    }

    /// <summary>Prunes the change log (by age and by count) and checkpoints the WAL, truncating it.</summary>
    public async Task MaintainAsync(CancellationToken cancellationToken)
    {
        var connection = (SqliteConnection)await OpenAsync(cancellationToken).ConfigureAwait(false);
        var broken = true;
        try
        {
            await using (var prune = connection.CreateCommand())
            {
                // Rows are in seq order and so in time order: the age bound scans only the rows it deletes.
                prune.CommandText = $"""
                    DELETE FROM {ChangesTable} WHERE seq <= (SELECT COALESCE(MAX(seq), 0) FROM {ChangesTable}) - $maxRows;
                    DELETE FROM {ChangesTable} WHERE seq < COALESCE(
                      (SELECT seq FROM {ChangesTable} WHERE at >= CAST(strftime('%s', 'now') AS INTEGER) - $retention ORDER BY seq LIMIT 1),
                      (SELECT COALESCE(MAX(seq), 0) FROM {ChangesTable}));
                    """;
                prune.Parameters.AddWithValue("$maxRows", MaxChangeRows);
                prune.Parameters.AddWithValue("$retention", (long)ChangeRetention.TotalSeconds);
                await prune.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var checkpoint = connection.CreateCommand())
            {
                checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
                await checkpoint.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            broken = false;
        }
        finally
        {
            await ReleaseAsync(connection, broken).ConfigureAwait(false);
        }
    }

    /// <summary>Gets or sets the store's change feed, once a subscriber asked for it; disposed with the dialect.</summary>
    public SqliteChangeFeed? Changes { get; set; }

    public async ValueTask DisposeAsync()
    {
        if (Changes is { } changes)
        {
            await changes.DisposeAsync().ConfigureAwait(false);
        }

        _disposed = true;
        while (_idle.TryTake(out var connection))
        {
            await CloseAsync(connection).ConfigureAwait(false);
        }
    }

    private async ValueTask CloseAsync(DbConnection connection)
    {
        if (_caches.TryGetValue(connection, out var cache))
        {
            foreach (var command in cache.Commands.Values)
            {
                await command.DisposeAsync().ConfigureAwait(false);
            }

            _caches.Remove(connection);
        }

        await connection.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class CommandCache
    {
        // Statement texts are the engine's own string instances, so identity is enough and skips hashing the text.
        public Dictionary<string, SqliteCommand> Commands { get; } = new(ReferenceEqualityComparer.Instance);

        public HashSet<SqliteCommand> InUse { get; } = [];
    }
}
