using Microsoft.Extensions.Logging;
using Npgsql;
using StateKit.Adapters;
using StateKit.Postgres.Internal;
using StateKit.Sql;

namespace StateKit.Postgres;

/// <summary>
/// An <see cref="IStateStore"/> in PostgreSQL tables, shared by any number of application instances.
/// Connections come from a pooled <see cref="NpgsqlDataSource"/> with automatic statement preparation. A
/// conditional write and its version bump are one statement (no read-then-write race); a batch is one round
/// trip; expired rows are invisible to every read and purged in batches through an index on the expiry.
/// Transient failures (server restart, failover, too many connections) are retried with exponential backoff
/// and jitter, then surface as <see cref="StateStoreUnavailableException"/>; a write whose connection broke
/// after it was sent is never retried and is reported with <see cref="StateStoreUnavailableException.WriteMayHaveApplied"/>.
/// Tables are created on first use (safe when several instances start at once) and versioned: a schema written by
/// a newer StateKit is refused with <see cref="StateSchemaVersionException"/>.
/// </summary>
public sealed partial class PostgresStateStore : IStateStore
{
    private readonly PostgresDialect _dialect;
    private readonly SqlStateEngine _engine;
    private readonly string _ns;
    private readonly ILogger? _logger;

    /// <summary>Initializes a new instance of the <see cref="PostgresStateStore"/> class that owns its connection pool.</summary>
    /// <param name="options">The options; <see cref="PostgresStateStoreOptions.ConnectionString"/> is required.</param>
    /// <param name="timeProvider">The clock for expiry; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="logger">Where retries of transient failures are logged; none when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public PostgresStateStore(PostgresStateStoreOptions options, TimeProvider? timeProvider = null, ILogger<PostgresStateStore>? logger = null)
        : this(options, null, timeProvider, logger)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PostgresStateStore"/> class on an application's data source (never disposed by the store).</summary>
    /// <param name="dataSource">The data source.</param>
    /// <param name="options">The options; the connection string is ignored.</param>
    /// <param name="timeProvider">The clock for expiry; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="logger">Where retries of transient failures are logged; none when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public PostgresStateStore(NpgsqlDataSource dataSource, PostgresStateStoreOptions options, TimeProvider? timeProvider = null, ILogger<PostgresStateStore>? logger = null)
        : this(options, dataSource ?? throw new ArgumentNullException(nameof(dataSource)), timeProvider, logger)
    {
    }

    private PostgresStateStore(PostgresStateStoreOptions options, NpgsqlDataSource? dataSource, TimeProvider? timeProvider, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (dataSource is null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString, nameof(options) + "." + nameof(options.ConnectionString));
        }

        SqlIdentifiers.Validate(options.Schema, nameof(options) + "." + nameof(options.Schema));
        SqlIdentifiers.Validate(options.TablePrefix, nameof(options) + "." + nameof(options.TablePrefix));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxAttempts, 1, nameof(options) + "." + nameof(options.MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Partitions, 0, nameof(options) + "." + nameof(options.Partitions));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Partitions, 1024, nameof(options) + "." + nameof(options.Partitions));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RetryDelay, TimeSpan.Zero, nameof(options) + "." + nameof(options.RetryDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRetryDelay, options.RetryDelay, nameof(options) + "." + nameof(options.MaxRetryDelay));
        var guard = new StateStoreGuard(Name, options, timeProvider);
        try
        {
            _dialect = new PostgresDialect(options, dataSource);
        }
        catch (ArgumentException ex)
        {
            // Npgsql's message can quote the connection string; never pass it on.
            throw new ArgumentException("The PostgreSQL connection string is not valid (check its keywords and values).", nameof(options), ex.InnerException);
        }

        _engine = new SqlStateEngine(_dialect, guard, logger);
        _ns = guard.Options.KeyPrefix;
        _logger = logger;
    }

    /// <inheritdoc />
    public string Name => "postgres";

    /// <summary>Gets the data source the store uses (its own, or the one it was given).</summary>
    public NpgsqlDataSource DataSource => _dialect.DataSource;

    /// <summary>Gets the LISTEN/NOTIFY channel of these tables (for tests).</summary>
    internal string NoticeChannel => _dialect.Channel;
}
