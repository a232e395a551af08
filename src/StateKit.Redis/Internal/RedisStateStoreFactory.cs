using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

[assembly: StateKit.StateStoreFactory(typeof(StateKit.Redis.Internal.RedisStateStoreFactory))]

namespace StateKit.Redis.Internal;

/// <summary>
/// Creates the Redis store for <c>StateKit:Store:Type = redis</c> (<c>StateKit:Store:ConnectionString</c> is the
/// StackExchange.Redis configuration string), or on the application's own multiplexer.
/// </summary>
internal sealed class RedisStateStoreFactory : StateStoreFactory<RedisStateStoreOptions>
{
    public const string Type = "redis";

    private readonly Func<IServiceProvider, IConnectionMultiplexer>? _multiplexer;

    public RedisStateStoreFactory()
    {
    }

    public RedisStateStoreFactory(Func<IServiceProvider, IConnectionMultiplexer> multiplexer) => _multiplexer = multiplexer;

    public override string StoreType => Type;

    protected override void Complete(RedisStateStoreOptions storeOptions, StateKitOptions options)
    {
        if (string.IsNullOrWhiteSpace(storeOptions.Configuration))
        {
            storeOptions.Configuration = options.Store.ConnectionString ?? string.Empty;
        }
    }

    protected override string? Missing(RedisStateStoreOptions storeOptions) =>
        _multiplexer is null && string.IsNullOrWhiteSpace(storeOptions.Configuration)
            ? "StateKit:Store:ConnectionString (a StackExchange.Redis configuration string such as host:port,password=…) is required for the redis store: UseRedis(configuration)."
            : null;

    protected override IStateStore Create(IServiceProvider services, RedisStateStoreOptions storeOptions)
    {
        var time = services.GetService<TimeProvider>();
        var logger = services.GetService<ILogger<RedisStateStore>>();
        return _multiplexer is null ? new RedisStateStore(storeOptions, time, logger) : new RedisStateStore(_multiplexer(services), storeOptions, time, logger);
    }
}
