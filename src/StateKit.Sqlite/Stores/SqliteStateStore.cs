using StateKit.Sql;
using StateKit.Sqlite.Internal;

namespace StateKit.Sqlite;

/// <summary>
/// An <see cref="IStateStore"/> in one SQLite database file that many threads and processes can share.
/// WAL journal with full sync, a busy timeout, prepared statements kept per pooled connection. Each write is
/// one statement or one <c>BEGIN IMMEDIATE</c> transaction, so no update is lost and a crash leaves every entry
/// at its old or its new value. Expired rows are invisible to every read and purged in batches.
/// The schema is created on first use and versioned: a database written by a newer StateKit is refused with
/// <see cref="StateSchemaVersionException"/>.
/// </summary>
public sealed class SqliteStateStore : IStateStore
{
    private readonly SqliteDialect _dialect;
    private readonly SqlStateEngine _engine;

    /// <summary>Initializes a new instance of the <see cref="SqliteStateStore"/> class. Nothing is opened until first use.</summary>
    /// <param name="options">The options; <see cref="SqliteStateStoreOptions.ConnectionString"/> is required.</param>
    /// <param name="timeProvider">The clock for expiry; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public SqliteStateStore(SqliteStateStoreOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString, nameof(options) + "." + nameof(options.ConnectionString));
        SqlIdentifiers.Validate(options.TablePrefix, nameof(options) + "." + nameof(options.TablePrefix));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPoolSize, 1, nameof(options) + "." + nameof(options.MaxPoolSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BusyTimeout, TimeSpan.Zero, nameof(options) + "." + nameof(options.BusyTimeout));
        var guard = new StateStoreGuard(Name, options, timeProvider);
        _dialect = new SqliteDialect(options);
        _engine = new SqlStateEngine(_dialect, guard);
    }

    /// <inheritdoc />
    public string Name => "sqlite";

    /// <inheritdoc />
    public ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) => _engine.GetAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default) => _engine.GetManyAsync(keys, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) => _engine.SetAsync(key, value, options, cancellationToken);

    /// <inheritdoc />
    /// <remarks>The batch is one transaction: when a conditional write conflicts, nothing of the batch is written.</remarks>
    public ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default) => _engine.SetManyAsync(writes, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) => _engine.DeleteAsync(key, expectedVersion, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => _engine.ExistsAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) => _engine.TouchAsync(key, timeToLive, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListKeysAsync(string prefix = "", CancellationToken cancellationToken = default) => _engine.ListKeysAsync(prefix, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default) => _engine.PurgeExpiredAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) => _engine.ListAppendAsync(key, items, timeToLive, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) => _engine.ListRangeAsync(key, start, stop, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default) => _engine.ListLengthAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default) => _engine.ListTrimAsync(key, start, stop, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default) => _engine.ListDeleteAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) => _engine.ListTouchAsync(key, timeToLive, cancellationToken);

    /// <summary>Opens a connection, checks the schema and runs <c>SELECT 1</c>; used by the health check.</summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The schema version in use.</returns>
    public ValueTask<int> PingAsync(CancellationToken cancellationToken = default) => _engine.PingAsync(cancellationToken);

    /// <summary>Closes the pooled connections.</summary>
    /// <returns>A task.</returns>
    public ValueTask DisposeAsync() => _dialect.DisposeAsync();
}
