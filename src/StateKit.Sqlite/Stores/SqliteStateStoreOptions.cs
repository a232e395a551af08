using System.ComponentModel.DataAnnotations;

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
    [RegularExpression("^[A-Za-z_][A-Za-z0-9_]{0,39}$", ErrorMessage = "The table prefix must be letters, digits and underscores, starting with a letter or underscore, at most 40 characters.")]
    public string TablePrefix { get; set; } = "statekit";

    /// <summary>Gets or sets how long a write waits for another connection or process to release the database (default 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how many connections (each with its prepared statements) the store keeps open (default 16).</summary>
    [Range(1, 1024)]
    public int MaxPoolSize { get; set; } = 16;

    /// <summary>
    /// Gets or sets how often the change feed reads the change log for changes made by other processes on the same file
    /// (default 100 ms): the longest a notice waits, beyond the time of the read itself. Only a store with a subscriber polls.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan ChangePollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Gets or sets the Unix mode of a database file the store creates (SQLite gives its WAL and shared-memory files the
    /// same mode) and of a directory it creates for it. An existing file keeps its mode. Ignored on Windows.
    /// </summary>
    /// <value>The default value is owner read and write (0600; a created directory 0700), whatever the process umask.</value>
    public UnixFileMode FileMode { get; set; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;
}
