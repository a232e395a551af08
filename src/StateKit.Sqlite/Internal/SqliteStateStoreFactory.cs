using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

[assembly: StateKit.StateStoreFactory(typeof(StateKit.Sqlite.Internal.SqliteStateStoreFactory))]

namespace StateKit.Sqlite.Internal;

/// <summary>Creates the SQLite store for <c>StateKit:Store:Type = sqlite</c> (<c>StateKit:Store:ConnectionString</c> or <c>Path</c> names the database).</summary>
internal sealed class SqliteStateStoreFactory : StateStoreFactory<SqliteStateStoreOptions>
{
    public const string Type = "sqlite";

    public override string StoreType => Type;

    protected override void Complete(SqliteStateStoreOptions storeOptions, StateKitOptions options)
    {
        if (string.IsNullOrWhiteSpace(storeOptions.ConnectionString))
        {
            storeOptions.ConnectionString = (string.IsNullOrWhiteSpace(options.Store.ConnectionString) ? options.Store.Path : options.Store.ConnectionString) ?? string.Empty;
        }
    }

    protected override string? Missing(SqliteStateStoreOptions storeOptions) =>
        string.IsNullOrWhiteSpace(storeOptions.ConnectionString)
            ? "StateKit:Store:ConnectionString (a database file path or a SQLite connection string) is required for the sqlite store: UseSqlite(path)."
            : null;

    protected override IStateStore Create(IServiceProvider services, SqliteStateStoreOptions storeOptions) =>
        new SqliteStateStore(storeOptions, services.GetService<TimeProvider>(), services.GetService<ILogger<SqliteStateStore>>());
}
