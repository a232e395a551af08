using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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
        var postgresOptions = Options(services, options);
        postgresOptions.ConnectionString = options.Store.ConnectionString!;
        return new PostgresStateStore(postgresOptions, services.GetService<TimeProvider>());
    }

    /// <summary>The PostgreSQL options from DI with the common StateKit settings applied.</summary>
    /// <param name="services">The services.</param>
    /// <param name="options">The StateKit options.</param>
    /// <returns>The options.</returns>
    public static PostgresStateStoreOptions Options(IServiceProvider services, StateKitOptions options)
    {
        var postgresOptions = services.GetRequiredService<IOptions<PostgresStateStoreOptions>>().Value;
        options.CopyTo(postgresOptions);
        return postgresOptions;
    }
}
