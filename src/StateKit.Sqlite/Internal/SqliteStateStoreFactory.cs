using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

[assembly: StateKit.StateStoreFactory(typeof(StateKit.Sqlite.Internal.SqliteStateStoreFactory))]

namespace StateKit.Sqlite.Internal;

/// <summary>Creates the SQLite store for <c>StateKit:Store:Type = sqlite</c> (<c>StateKit:Store:ConnectionString</c> or <c>Path</c> names the database).</summary>
internal sealed class SqliteStateStoreFactory : IStateStoreFactory
{
    public const string Type = "sqlite";

    public string StoreType => Type;

    public IEnumerable<string> Validate(IServiceProvider services, StateKitOptions options)
    {
        var sqliteOptions = CreateOptions(services, options);
        if (string.IsNullOrWhiteSpace(sqliteOptions.ConnectionString))
        {
            yield return "StateKit:Store:ConnectionString (a database file path or a SQLite connection string) is required for the sqlite store: UseSqlite(path).";
        }

        foreach (var problem in sqliteOptions.Validate(nameof(SqliteStateStoreOptions)))
        {
            yield return problem;
        }
    }

    public IStateStore Create(IServiceProvider services, StateKitOptions options) =>
        new SqliteStateStore(CreateOptions(services, options), services.GetService<TimeProvider>(), services.GetService<ILogger<SqliteStateStore>>());

    private static SqliteStateStoreOptions CreateOptions(IServiceProvider services, StateKitOptions options)
    {
        var sqliteOptions = options.CreateStoreOptions<SqliteStateStoreOptions>(services);
        if (string.IsNullOrWhiteSpace(sqliteOptions.ConnectionString))
        {
            sqliteOptions.ConnectionString = (string.IsNullOrWhiteSpace(options.Store.ConnectionString) ? options.Store.Path : options.Store.ConnectionString) ?? string.Empty;
        }

        return sqliteOptions;
    }
}
