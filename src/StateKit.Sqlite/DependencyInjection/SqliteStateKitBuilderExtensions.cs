using StateKit;
using StateKit.Sqlite;
using StateKit.Sqlite.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Selects the SQLite store on a <see cref="StateKitBuilder"/>.</summary>
public static class SqliteStateKitBuilderExtensions
{
    /// <summary>Stores state in a SQLite database file that several processes can share.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="pathOrConnectionString">A database file path (<c>state.db</c>) or a connection string (<c>Data Source=state.db</c>).</param>
    /// <param name="configure">Optional SQLite settings (table prefix, busy timeout, pool size).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseSqlite(this StateKitBuilder builder, string pathOrConnectionString, Action<SqliteStateStoreOptions>? configure = null)
        => builder.UseStore<SqliteStateStoreFactory, SqliteStateStoreOptions>(SqliteStateStoreFactory.Type, pathOrConnectionString, configure);
}
