using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StateKit.Postgres;

/// <summary>
/// Checks that the registered PostgreSQL store can reach its server: schema version round trip through the store's own
/// connection. Register it with <c>services.AddHealthChecks().AddCheck&lt;PostgresStateStoreHealthCheck&gt;("statekit-postgres")</c>.
/// </summary>
public sealed class PostgresStateStoreHealthCheck : IHealthCheck
{
    private readonly IStateStore _store;

    /// <summary>Initializes a new instance of the <see cref="PostgresStateStoreHealthCheck"/> class.</summary>
    /// <param name="store">The registered store; it must be a <see cref="PostgresStateStore"/>.</param>
    public PostgresStateStoreHealthCheck(IStateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_store is not PostgresStateStore store)
        {
            return HealthCheckResult.Unhealthy($"The registered store is '{_store.Name}', not postgres: register {nameof(StateStoreHealthCheck)} instead.");
        }

        try
        {
            var result = await store.PingAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"PostgreSQL answered and the StateKit schema is at version {result}.", new Dictionary<string, object> { ["schemaVersion"] = result });
        }
        catch (StateStoreException ex)
        {
            return new HealthCheckResult(context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy, ex.Message, ex);
        }
    }
}
