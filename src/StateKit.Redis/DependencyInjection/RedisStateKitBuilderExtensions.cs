using StackExchange.Redis;
using StateKit;
using StateKit.Redis;
using StateKit.Redis.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Selects the Redis store on a <see cref="StateKitBuilder"/>.</summary>
public static class RedisStateKitBuilderExtensions
{
    /// <summary>Stores state in Redis; the store creates and owns its multiplexer (connects on first use; the client reconnects it after an outage).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string; it never appears in StateKit's messages.</param>
    /// <param name="configure">Optional Redis settings (database, key prefix, operation timeout).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseRedis(this StateKitBuilder builder, string configuration, Action<RedisStateStoreOptions>? configure = null)
        => builder.UseStore<RedisStateStoreFactory, RedisStateStoreOptions>(RedisStateStoreFactory.Type, configuration, configure);

    /// <summary>Stores state in Redis through the application's own multiplexer (never disposed or replaced by StateKit).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="multiplexer">Picks the multiplexer, for example <c>sp =&gt; sp.GetRequiredService&lt;IConnectionMultiplexer&gt;()</c>.</param>
    /// <param name="configure">Optional Redis settings (database, key prefix).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseRedis(this StateKitBuilder builder, Func<IServiceProvider, IConnectionMultiplexer> multiplexer, Action<RedisStateStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(multiplexer);
        if (configure is not null)
        {
            builder.Services.Configure(builder.Name, configure);
        }

        return builder.UseStore(new RedisStateStoreFactory(multiplexer));
    }

    /// <summary>Stores state in Redis through the application's own multiplexer (never disposed or replaced by StateKit).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="multiplexer">The multiplexer, shared with the rest of the app (distributed cache, Data Protection, SignalR).</param>
    /// <param name="configure">Optional Redis settings (database, key prefix).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseRedis(this StateKitBuilder builder, IConnectionMultiplexer multiplexer, Action<RedisStateStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        return builder.UseRedis(_ => multiplexer, configure);
    }
}
