using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Redis.Internal;

/// <summary>Creates the Redis store for <c>StateKit:Store:Type = redis</c> (<c>StateKit:Store:ConnectionString</c> is the StackExchange.Redis configuration string).</summary>
internal sealed class RedisStateStoreFactory : IStateStoreFactory
{
    public const string Type = "redis";

    public string StoreType => Type;

    public IEnumerable<string> Validate(StateKitOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Store.ConnectionString))
        {
            yield return "StateKit:Store:ConnectionString (a StackExchange.Redis configuration string such as host:port,password=…) is required for the redis store: UseRedis(configuration).";
        }
    }

    public IStateStore Create(IServiceProvider services, StateKitOptions options)
    {
        var redisOptions = options.CreateStoreOptions<RedisStateStoreOptions>(services);
        redisOptions.Configuration = options.Store.ConnectionString!;
        return new RedisStateStore(redisOptions, services.GetService<TimeProvider>());
    }
}
