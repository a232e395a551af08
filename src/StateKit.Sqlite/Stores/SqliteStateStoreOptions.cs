namespace StateKit.Sqlite;

/// <summary>Options of <see cref="SqliteStateStore"/>.</summary>
public sealed class SqliteStateStoreOptions : StateStoreOptions
{
    /// <summary>
    /// Gets or sets the database: a file path (<c>state.db</c>) or a Microsoft.Data.Sqlite connection string
    /// (<c>Data Source=state.db;Password=…</c>). The file and its directory are created when missing.
    /// </summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>
    /// Gets or sets the prefix of the table names (letters, digits, underscores; starts with a letter or underscore).
    /// Several stores with different key prefixes can share one set of tables.
    /// </summary>
    public string TablePrefix { get; set; } = "statekit";

    /// <summary>Gets or sets how long a write waits for another connection or process to release the database (default 30 s).</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how many connections (each with its prepared statements) the store keeps open (default 16).</summary>
    public int MaxPoolSize { get; set; } = 16;
}
