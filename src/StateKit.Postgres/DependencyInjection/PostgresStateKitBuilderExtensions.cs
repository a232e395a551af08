using Npgsql;
using StateKit;
using StateKit.Postgres;
using StateKit.Postgres.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Selects the PostgreSQL store on a <see cref="StateKitBuilder"/>.</summary>
public static class PostgresStateKitBuilderExtensions
{
    /// <summary>Stores state in PostgreSQL; the store owns a pooled data source built from the connection string.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">The Npgsql connection string; it never appears in StateKit's messages.</param>
    /// <param name="configure">Optional PostgreSQL settings (schema, table prefix, retries).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UsePostgres(this StateKitBuilder builder, string connectionString, Action<PostgresStateStoreOptions>? configure = null)
        => builder.UseStore<PostgresStateStoreFactory, PostgresStateStoreOptions>(PostgresStateStoreFactory.Type, connectionString, configure);

    /// <summary>Stores state in PostgreSQL through the application's own <see cref="NpgsqlDataSource"/> (never disposed by StateKit).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="dataSource">Picks the data source, for example <c>sp =&gt; sp.GetRequiredService&lt;NpgsqlDataSource&gt;()</c>.</param>
    /// <param name="configure">Optional PostgreSQL settings (schema, table prefix, retries).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UsePostgres(this StateKitBuilder builder, Func<IServiceProvider, NpgsqlDataSource> dataSource, Action<PostgresStateStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSource);
        if (configure is not null)
        {
            builder.Services.Configure(builder.Name, configure);
        }

        return builder.UseStore(new PostgresStateStoreFactory(dataSource));
    }
}
