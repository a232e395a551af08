using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

[assembly: StateKit.StateStoreFactory(typeof(StateKit.Postgres.Internal.PostgresStateStoreFactory))]

namespace StateKit.Postgres.Internal;

/// <summary>
/// Creates the PostgreSQL store for <c>StateKit:Store:Type = postgres</c> (<c>StateKit:Store:ConnectionString</c> is the
/// Npgsql connection string), or on the application's own data source.
/// </summary>
internal sealed class PostgresStateStoreFactory : StateStoreFactory<PostgresStateStoreOptions>
{
    public const string Type = "postgres";

    private readonly Func<IServiceProvider, NpgsqlDataSource>? _dataSource;

    public PostgresStateStoreFactory()
    {
    }

    public PostgresStateStoreFactory(Func<IServiceProvider, NpgsqlDataSource> dataSource) => _dataSource = dataSource;

    public override string StoreType => Type;

    protected override void Complete(PostgresStateStoreOptions storeOptions, StateKitOptions options)
    {
        if (string.IsNullOrWhiteSpace(storeOptions.ConnectionString))
        {
            storeOptions.ConnectionString = options.Store.ConnectionString ?? string.Empty;
        }
    }

    protected override string? Missing(PostgresStateStoreOptions storeOptions) =>
        _dataSource is null && string.IsNullOrWhiteSpace(storeOptions.ConnectionString)
            ? "StateKit:Store:ConnectionString (an Npgsql connection string) is required for the postgres store: UsePostgres(connectionString)."
            : null;

    protected override IStateStore Create(IServiceProvider services, PostgresStateStoreOptions storeOptions)
    {
        var time = services.GetService<TimeProvider>();
        var logger = services.GetService<ILogger<PostgresStateStore>>();
        return _dataSource is null ? new PostgresStateStore(storeOptions, time, logger) : new PostgresStateStore(_dataSource(services), storeOptions, time, logger);
    }
}
