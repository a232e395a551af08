using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Postgres.Internal;

/// <summary>Creates the PostgreSQL store for <c>StateKit:Store:Type = postgres</c> (<c>StateKit:Store:ConnectionString</c> is the Npgsql connection string).</summary>
internal sealed class PostgresStateStoreFactory : IStateStoreFactory
{
    public const string Type = "postgres";

    public string StoreType => Type;

    public IEnumerable<string> Validate(StateKitOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Store.ConnectionString))
        {
            yield return "StateKit:Store:ConnectionString (an Npgsql connection string) is required for the postgres store: UsePostgres(connectionString).";
        }
    }

    public IStateStore Create(IServiceProvider services, StateKitOptions options)
    {
        var postgresOptions = options.CreateStoreOptions<PostgresStateStoreOptions>(services);
        postgresOptions.ConnectionString = options.Store.ConnectionString!;
        return new PostgresStateStore(postgresOptions, services.GetService<TimeProvider>());
    }
}
