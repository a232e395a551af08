using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StateKit.Redis;

/// <summary>
/// Checks that the registered Redis store can reach its server: ping round trip through the store's own
/// connection. Register it with <c>services.AddHealthChecks().AddCheck&lt;RedisStateStoreHealthCheck&gt;("statekit-redis")</c>.
/// </summary>
public sealed class RedisStateStoreHealthCheck : IHealthCheck
{
    private readonly IStateStore _store;

    /// <summary>Initializes a new instance of the <see cref="RedisStateStoreHealthCheck"/> class.</summary>
    /// <param name="store">The registered store; it must be a <see cref="RedisStateStore"/>.</param>
    public RedisStateStoreHealthCheck(IStateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_store is not RedisStateStore store)
        {
            return HealthCheckResult.Unhealthy($"The registered store is '{_store.Name}', not redis: register {nameof(StateStoreHealthCheck)} instead.");
        }

        try
        {
            var result = await store.PingAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"Redis answered PING in {result.TotalMilliseconds:0.#} ms.", new Dictionary<string, object> { ["pingMs"] = result.TotalMilliseconds });
        }
        catch (StateStoreException ex)
        {
            return new HealthCheckResult(context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy, ex.Message, ex);
        }
    }
}
