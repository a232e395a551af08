using System.Data.Common;

namespace StateKit.Sql;

/// <summary>
/// What differs between the SQL backends that share <see cref="SqlStateEngine"/>: connections, statement
/// preparation, transactions, schema creation and which failures are transient.
/// </summary>
/// <remarks>Source shared by StateKit.Sqlite and StateKit.Postgres (linked, compiled into each, internal).</remarks>
internal abstract class SqlDialect
{
    /// <summary>Gets the table names (already quoted and qualified).</summary>
    public abstract SqlTables Tables { get; }

    /// <summary>Gets the schema or file named in errors, without secrets.</summary>
    public abstract string Location { get; }

    /// <summary>Gets the clause appended to a SELECT that must lock the rows it reads inside a transaction.</summary>
    public abstract string ForUpdate { get; }

    /// <summary>Gets the schema version this code writes; migrations run forward up to it.</summary>
    public abstract int SchemaVersion { get; }

    /// <summary>
    /// The statements of schema version 4, the same on every backend: a checksum column beside each value (CRC-32C bound
    /// to the key and position) and, for entries, the version it was written at. Rows written before stay without one and
    /// are read unverified until they are next written; a row changed since by a writer that knows no checksums (an older
    /// StateKit) no longer carries its checksum's version and is read unverified too.
    /// </summary>
    /// <param name="integerType">The backend's 64-bit integer type.</param>
    /// <returns>The statements.</returns>
    protected IReadOnlyList<string> ChecksumMigration(string integerType) =>
    [
        $"ALTER TABLE {Tables.Entries} ADD COLUMN crc {integerType}",
        $"ALTER TABLE {Tables.Entries} ADD COLUMN crc_version {integerType}",
        $"ALTER TABLE {Tables.Items} ADD COLUMN crc {integerType}",
    ];

    /// <summary>Gets how many attempts an operation gets when it fails transiently (1 = no retry).</summary>
    public abstract int MaxAttempts { get; }

    /// <summary>Gets the most UTF-8 bytes of key prefix plus key the backend's index holds, or <see langword="null"/> for no limit below the key rules'.</summary>
    public virtual int? MaxKeyBytes => null;

    /// <summary>Gets the first retry delay; later ones double, with jitter, up to <see cref="MaxRetryDelay"/>.</summary>
    public abstract TimeSpan RetryDelay { get; }

    /// <summary>Gets the longest delay between two attempts.</summary>
    public abstract TimeSpan MaxRetryDelay { get; }

    /// <summary>Opens (or rents) a connection.</summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>An open connection.</returns>
    public abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Gives a connection back; a broken one is discarded.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="broken">Whether the last use failed in a way that may have left it unusable.</param>
    /// <returns>A task.</returns>
    public abstract ValueTask ReleaseAsync(DbConnection connection, bool broken);

    /// <summary>Gets a command for a statement, reusing a prepared one on this connection where the backend allows.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="sql">The statement.</param>
    /// <param name="cacheable">Whether the statement text is fixed (not built from a variable number of items).</param>
    /// <returns>The command, with its parameters cleared.</returns>
    public abstract DbCommand Command(DbConnection connection, string sql, bool cacheable);

    /// <summary>Takes back a command from <see cref="Command"/>; the default disposes it.</summary>
    /// <param name="command">The command.</param>
    public virtual void Return(DbCommand command) => command.Dispose();

    /// <summary>Starts a write transaction that holds its locks from the start.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The transaction.</returns>
    public abstract ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Gets the statements that bring the schema from <paramref name="fromVersion"/> to <paramref name="fromVersion"/> + 1.</summary>
    /// <param name="fromVersion">The current version (0 = nothing yet).</param>
    /// <returns>The statements.</returns>
    public abstract IReadOnlyList<string> Migration(int fromVersion);

    /// <summary>Serializes schema set-up between processes inside <paramref name="transaction"/> (may do nothing).</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="transaction">The set-up transaction.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>A task.</returns>
    public abstract ValueTask LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Tells whether the schema table exists.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="transaction">The set-up transaction.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns><see langword="true"/> when it exists.</returns>
    public abstract ValueTask<bool> SchemaTableExistsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Classifies a failure.</summary>
    /// <param name="exception">The failure.</param>
    /// <returns>What the failure means.</returns>
    public abstract SqlFailure Classify(Exception exception);

    /// <summary>Called after every write that succeeded; a dialect may run its upkeep (log pruning, checkpoints) now and then.</summary>
    public virtual void Written()
    {
    }

    /// <summary>
    /// Version-preserving writes of many entries in one round trip and one transaction, or <see langword="null"/> when
    /// the dialect has no such batch (the engine then runs them one by one in a transaction).
    /// </summary>
    /// <param name="engine">The engine (statement and parameters).</param>
    /// <param name="connection">The connection.</param>
    /// <param name="entries">The entries.</param>
    /// <param name="expiries">Their expiries in Unix milliseconds.</param>
    /// <param name="now">The current time in Unix milliseconds.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>For each entry whether it was written, or <see langword="null"/>.</returns>
    public virtual ValueTask<IReadOnlyList<bool>?> SetManyAtVersionAsync(SqlStateEngine engine, DbConnection connection, IReadOnlyList<StateEntry> entries, long?[] expiries, long now, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<bool>?>(null);

    /// <summary>Writes a batch of unconditional and conditional upserts; the default runs them in one transaction.</summary>
    /// <param name="engine">The engine, for the shared statements.</param>
    /// <param name="connection">The connection.</param>
    /// <param name="writes">The writes, already validated, with their resolved expiries.</param>
    /// <param name="now">The current time in Unix milliseconds.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The new versions, or the index of the first conflicting write.</returns>
    public virtual async ValueTask<SqlBatchResult> SetManyAsync(SqlStateEngine engine, DbConnection connection, IReadOnlyList<SqlWrite> writes, long now, CancellationToken cancellationToken)
    {
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var versions = new long[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            var version = await engine.WriteAsync(connection, transaction, writes[i], now, cancellationToken).ConfigureAwait(false);
            if (version is null)
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return new SqlBatchResult(versions, i);
            }

            versions[i] = version.Value;
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new SqlBatchResult(versions, -1);
    }
}

/// <summary>The quoted, qualified table names of one store.</summary>
/// <param name="Entries">Entries: (ns, key) → value, version, expires_at.</param>
/// <param name="Lists">List heads: (ns, key) → head, tail, expires_at.</param>
/// <param name="Items">List items: (ns, key, seq) → value.</param>
/// <param name="Schema">The one-row schema-version table.</param>
internal sealed record SqlTables(string Entries, string Lists, string Items, string Schema);

/// <summary>One write of a batch, ready for SQL.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">The value.</param>
/// <param name="ExpectedVersion">The expected version, if conditional.</param>
/// <param name="ExpiresAt">The expiry in Unix milliseconds, if any (for a write that keeps the expiry: the one a new row gets).</param>
/// <param name="KeepExpiry">Whether a live row keeps its expiry (<see cref="StateTimeToLive.KeepCurrent"/>).</param>
internal readonly record struct SqlWrite(string Key, ReadOnlyMemory<byte> Value, long? ExpectedVersion, long? ExpiresAt, bool KeepExpiry);

/// <summary>The outcome of a batch.</summary>
/// <param name="Versions">The new versions, in order.</param>
/// <param name="ConflictIndex">The index of the write that conflicted (nothing was written), or -1.</param>
internal readonly record struct SqlBatchResult(long[] Versions, int ConflictIndex);

/// <summary>What a backend failure means for retrying.</summary>
internal enum SqlFailure
{
    /// <summary>Not a backend failure StateKit handles (a bug or a cancellation): let it through.</summary>
    Unknown,

    /// <summary>The backend refused the statement for good (permissions, disk full, bad schema): no retry.</summary>
    Permanent,

    /// <summary>The backend said the statement did not run (restart, failover, lock timeout): safe to retry any operation.</summary>
    TransientNotApplied,

    /// <summary>The connection broke, possibly after the statement was sent: reads retry, writes are indeterminate.</summary>
    TransientMaybeApplied,

    /// <summary>The database file or rows are damaged.</summary>
    Corrupt,

    /// <summary>The store is set up wrong (authentication, a missing database, no permission): no retry, and not an outage.</summary>
    Configuration,
}

/// <summary>A command rented from a <see cref="SqlDialect"/>; disposing it gives it back (prepared statements stay cached).</summary>
/// <param name="command">The command.</param>
/// <param name="dialect">The dialect that lent it.</param>
internal readonly struct PooledCommand(DbCommand command, SqlDialect dialect) : IDisposable
{
    /// <summary>Gets the command.</summary>
    public DbCommand Cmd => command;

    /// <inheritdoc />
    public void Dispose() => dialect.Return(command);
}
