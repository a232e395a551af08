namespace StateKit.Redis;

/// <summary>
/// Checks that the registered Redis store reaches its server: a PING round trip through the store's own
/// connection. Register it with <c>services.AddHealthChecks().AddCheck&lt;RedisStateStoreHealthCheck&gt;("statekit-redis")</c>.
/// </summary>
/// <param name="store">The registered store: a <see cref="RedisStateStore"/>, or decorators around one.</param>
public sealed class RedisStateStoreHealthCheck(IStateStore store) : StateStorePingHealthCheck<RedisStateStore>(store)
{
    /// <inheritdoc />
    protected override async ValueTask<(string Description, IReadOnlyDictionary<string, object> Data)> PingAsync(RedisStateStore store, CancellationToken cancellationToken)
    {
        var elapsed = await store.PingAsync(cancellationToken).ConfigureAwait(false);
        return ($"Redis answered PING in {elapsed.TotalMilliseconds:0.#} ms.", new Dictionary<string, object> { ["pingMs"] = elapsed.TotalMilliseconds });
    }
}
