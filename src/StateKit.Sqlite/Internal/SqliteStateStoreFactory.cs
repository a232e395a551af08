using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Sqlite.Internal;

/// <summary>Creates the SQLite store for <c>StateKit:Store:Type = sqlite</c> (<c>StateKit:Store:ConnectionString</c> or <c>Path</c> names the database).</summary>
internal sealed class SqliteStateStoreFactory : IStateStoreFactory
{
    public const string Type = "sqlite";

    public string StoreType => Type;

    public IEnumerable<string> Validate(StateKitOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Store.ConnectionString) && string.IsNullOrWhiteSpace(options.Store.Path))
        {
            yield return "StateKit:Store:ConnectionString (a database file path or a SQLite connection string) is required for the sqlite store: UseSqlite(path).";
        }
    }

    public IStateStore Create(IServiceProvider services, StateKitOptions options)
    {
        var sqliteOptions = options.CreateStoreOptions<SqliteStateStoreOptions>(services);
        sqliteOptions.ConnectionString = string.IsNullOrWhiteSpace(options.Store.ConnectionString) ? options.Store.Path! : options.Store.ConnectionString;
        return new SqliteStateStore(sqliteOptions, services.GetService<TimeProvider>());
    }
}
