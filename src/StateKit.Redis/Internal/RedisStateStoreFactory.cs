using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

[assembly: StateKit.StateStoreFactory(typeof(StateKit.Redis.Internal.RedisStateStoreFactory))]

namespace StateKit.Redis.Internal;

/// <summary>
/// Creates the Redis store for <c>StateKit:Store:Type = redis</c> (<c>StateKit:Store:ConnectionString</c> is the
/// StackExchange.Redis configuration string), or on the application's own multiplexer.
/// </summary>
internal sealed class RedisStateStoreFactory : IStateStoreFactory
{
    public const string Type = "redis";

    private readonly Func<IServiceProvider, IConnectionMultiplexer>? _multiplexer;

    public RedisStateStoreFactory()
    {
    }

    public RedisStateStoreFactory(Func<IServiceProvider, IConnectionMultiplexer> multiplexer) => _multiplexer = multiplexer;

    public string StoreType => Type;

    public IEnumerable<string> Validate(IServiceProvider services, StateKitOptions options)
    {
        var redisOptions = CreateOptions(services, options);
        if (_multiplexer is null && string.IsNullOrWhiteSpace(redisOptions.Configuration))
        {
            yield return "StateKit:Store:ConnectionString (a StackExchange.Redis configuration string such as host:port,password=…) is required for the redis store: UseRedis(configuration).";
        }

        foreach (var problem in redisOptions.Validate(nameof(RedisStateStoreOptions)))
        {
            yield return problem;
        }
    }

    public IStateStore Create(IServiceProvider services, StateKitOptions options)
    {
        var redisOptions = CreateOptions(services, options);
        var time = services.GetService<TimeProvider>();
        var logger = services.GetService<ILogger<RedisStateStore>>();
        return _multiplexer is null ? new RedisStateStore(redisOptions, time, logger) : new RedisStateStore(_multiplexer(services), redisOptions, time, logger);
    }

    private static RedisStateStoreOptions CreateOptions(IServiceProvider services, StateKitOptions options)
    {
        var redisOptions = options.CreateStoreOptions<RedisStateStoreOptions>(services);
        if (string.IsNullOrWhiteSpace(redisOptions.Configuration))
        {
            redisOptions.Configuration = options.Store.ConnectionString ?? string.Empty;
        }

        return redisOptions;
    }
}
