using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StateKit.Sqlite;

/// <summary>
/// Checks that the registered SQLite store can reach its server: schema version round trip through the store's own
/// connection. Register it with <c>services.AddHealthChecks().AddCheck&lt;SqliteStateStoreHealthCheck&gt;("statekit-sqlite")</c>.
/// </summary>
public sealed class SqliteStateStoreHealthCheck : IHealthCheck
{
    private readonly IStateStore _store;

    /// <summary>Initializes a new instance of the <see cref="SqliteStateStoreHealthCheck"/> class.</summary>
    /// <param name="store">The registered store; it must be a <see cref="SqliteStateStore"/>.</param>
    public SqliteStateStoreHealthCheck(IStateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_store is not SqliteStateStore store)
        {
            return HealthCheckResult.Unhealthy($"The registered store is '{_store.Name}', not sqlite: register {nameof(StateStoreHealthCheck)} instead.");
        }

        try
        {
            var result = await store.PingAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"SQLite answered and the StateKit schema is at version {result}.", new Dictionary<string, object> { ["schemaVersion"] = result });
        }
        catch (StateStoreException ex)
        {
            return new HealthCheckResult(context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy, ex.Message, ex);
        }
    }
}
