using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StateKit;

/// <summary>
/// Base of the per-backend health checks: finds the <typeparamref name="TStore"/> in the registered store pipeline
/// (through any decorators, with <see cref="IStateStore.GetService"/>), runs the backend's own cheap round trip and turns a <see cref="StateStoreException"/> into the registration's
/// failure status. Adapters derive from it with one method.
/// </summary>
/// <typeparam name="TStore">The store type the check knows how to ping.</typeparam>
public abstract class StateStorePingHealthCheck<TStore> : IHealthCheck
    where TStore : class, IStateStore
{
    private readonly IStateStore _store;

    /// <summary>Initializes a new instance of the <see cref="StateStorePingHealthCheck{TStore}"/> class.</summary>
    /// <param name="store">The registered store: a <typeparamref name="TStore"/>, or a pipeline of decorators around one.</param>
    protected StateStorePingHealthCheck(IStateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_store.GetService<TStore>() is not { } store)
        {
            return HealthCheckResult.Unhealthy($"The registered store pipeline ('{_store.Name}') has no {typeof(TStore).Name}: register {nameof(StateStoreHealthCheck)} instead.");
        }

        try
        {
            var (description, data) = await PingAsync(store, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy(description, data);
        }
        catch (StateStoreException ex)
        {
            return new HealthCheckResult(context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy, ex.Message, ex);
        }
    }

    /// <summary>Runs the backend's round trip.</summary>
    /// <param name="store">The store.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>What a healthy answer looked like, and data for the report.</returns>
    /// <exception cref="StateStoreException">The backend did not answer.</exception>
    protected abstract ValueTask<(string Description, IReadOnlyDictionary<string, object> Data)> PingAsync(TStore store, CancellationToken cancellationToken);
}
