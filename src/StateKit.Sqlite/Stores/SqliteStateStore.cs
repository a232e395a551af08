using Microsoft.Extensions.Logging;
using StateKit.Adapters;
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
public sealed partial class SqliteStateStore : IStateStore
{
    private readonly SqliteDialect _dialect;
    private readonly SqlStateEngine _engine;
    private readonly string _ns;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger? _logger;

    /// <summary>Initializes a new instance of the <see cref="SqliteStateStore"/> class. Nothing is opened until first use.</summary>
    /// <param name="options">The options; <see cref="SqliteStateStoreOptions.ConnectionString"/> is required.</param>
    /// <param name="timeProvider">The clock for expiry; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="logger">Where retries of busy or locked operations are logged; none when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public SqliteStateStore(SqliteStateStoreOptions options, TimeProvider? timeProvider = null, ILogger<SqliteStateStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString, nameof(options) + "." + nameof(options.ConnectionString));
        SqlIdentifiers.Validate(options.TablePrefix, nameof(options) + "." + nameof(options.TablePrefix));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPoolSize, 1, nameof(options) + "." + nameof(options.MaxPoolSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BusyTimeout, TimeSpan.Zero, nameof(options) + "." + nameof(options.BusyTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ChangePollInterval, TimeSpan.Zero, nameof(options) + "." + nameof(options.ChangePollInterval));
        var guard = new StateStoreGuard(Name, options, timeProvider);
        _dialect = new SqliteDialect(options);
        _engine = new SqlStateEngine(_dialect, guard, logger);
        _ns = guard.Options.KeyPrefix;
        _pollInterval = options.ChangePollInterval;
        _logger = logger;
    }

    /// <inheritdoc />
    public string Name => "sqlite";

    /// <summary>Gets the dialect: the database path and table names (tests that damage or age the change log).</summary>
    internal SqliteDialect Dialect => _dialect;
}
