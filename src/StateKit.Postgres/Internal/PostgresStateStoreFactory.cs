using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

[assembly: StateKit.StateStoreFactory(typeof(StateKit.Postgres.Internal.PostgresStateStoreFactory))]

namespace StateKit.Postgres.Internal;

/// <summary>
/// Creates the PostgreSQL store for <c>StateKit:Store:Type = postgres</c> (<c>StateKit:Store:ConnectionString</c> is the
/// Npgsql connection string), or on the application's own data source.
/// </summary>
internal sealed class PostgresStateStoreFactory : IStateStoreFactory
{
    public const string Type = "postgres";

    private readonly Func<IServiceProvider, NpgsqlDataSource>? _dataSource;

    public PostgresStateStoreFactory()
    {
    }

    public PostgresStateStoreFactory(Func<IServiceProvider, NpgsqlDataSource> dataSource) => _dataSource = dataSource;

    public string StoreType => Type;

    public IEnumerable<string> Validate(IServiceProvider services, StateKitOptions options)
    {
        var postgresOptions = CreateOptions(services, options);
        if (_dataSource is null && string.IsNullOrWhiteSpace(postgresOptions.ConnectionString))
        {
            yield return "StateKit:Store:ConnectionString (an Npgsql connection string) is required for the postgres store: UsePostgres(connectionString).";
        }

        foreach (var problem in postgresOptions.Validate(nameof(PostgresStateStoreOptions)))
        {
            yield return problem;
        }
    }

    public IStateStore Create(IServiceProvider services, StateKitOptions options)
    {
        var postgresOptions = CreateOptions(services, options);
        var time = services.GetService<TimeProvider>();
        var logger = services.GetService<ILogger<PostgresStateStore>>();
        return _dataSource is null ? new PostgresStateStore(postgresOptions, time, logger) : new PostgresStateStore(_dataSource(services), postgresOptions, time, logger);
    }

    private static PostgresStateStoreOptions CreateOptions(IServiceProvider services, StateKitOptions options)
    {
        var postgresOptions = options.CreateStoreOptions<PostgresStateStoreOptions>(services);
        if (string.IsNullOrWhiteSpace(postgresOptions.ConnectionString))
        {
            postgresOptions.ConnectionString = options.Store.ConnectionString ?? string.Empty;
        }

        return postgresOptions;
    }
}
