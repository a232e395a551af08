using System.ComponentModel.DataAnnotations;

namespace StateKit.Postgres;

/// <summary>Options of <see cref="PostgresStateStore"/>.</summary>
public sealed class PostgresStateStoreOptions : StateStoreOptions
{
    /// <summary>
    /// Gets or sets the Npgsql connection string (<c>Host=…;Username=…;Password=…;Database=…</c>). Not needed when
    /// the store is given an <c>NpgsqlDataSource</c>. It never appears in StateKit's messages.
    /// </summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>Gets or sets the database schema of the tables; created when missing (default <c>public</c>).</summary>
    [RegularExpression("^[A-Za-z_][A-Za-z0-9_]{0,39}$", ErrorMessage = "The schema must be letters, digits and underscores, starting with a letter or underscore, at most 40 characters.")]
    public string Schema { get; set; } = "public";

    /// <summary>
    /// Gets or sets the prefix of the table names (letters, digits, underscores; starts with a letter or underscore).
    /// Several stores with different key prefixes can share one set of tables.
    /// </summary>
    [RegularExpression("^[A-Za-z_][A-Za-z0-9_]{0,39}$", ErrorMessage = "The table prefix must be letters, digits and underscores, starting with a letter or underscore, at most 40 characters.")]
    public string TablePrefix { get; set; } = "statekit";

    /// <summary>
    /// Gets or sets how many attempts an operation gets when PostgreSQL reports a transient failure
    /// (restart, failover, too many connections, deadlock); 1 disables retries (default 6).
    /// </summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 6;

    /// <summary>Gets or sets the delay before the first retry; each later one doubles, with jitter (default 100 ms).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Gets or sets the longest delay between two attempts (default 2 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets or sets how many hash partitions the store creates its tables with (on the key, <c>PARTITION BY HASH</c>);
    /// 0 (the default) creates plain tables. Applies only when the store creates its tables: existing tables are used as
    /// they are (partitioned by hand or not). Partitions spread a large table's rows, indexes and vacuum work; a write
    /// still touches one row per key, so single-row operations cost the same.
    /// </summary>
    /// <value>The default value is 0; at most 1,024.</value>
    [System.ComponentModel.DataAnnotations.Range(0, 1024)]
    public int Partitions { get; set; }

    /// <summary>
    /// Gets or sets the Npgsql connection string of the change feed's LISTEN connection; <see langword="null"/> (the
    /// default) uses the store's. Behind a transaction pooler (PgBouncer <c>pool_mode = transaction</c>) LISTEN does not
    /// work, since notices go to whichever server connection the pooler last lent: point this at PostgreSQL directly or at
    /// a session-mode pool.
    /// </summary>
    public string? ListenConnectionString { get; set; }
}
