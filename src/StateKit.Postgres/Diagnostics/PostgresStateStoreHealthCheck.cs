namespace StateKit.Postgres;

/// <summary>
/// Checks that the registered PostgreSQL store reaches its server: a schema version round trip through the store's own
/// connection. Register it with <c>services.AddHealthChecks().AddCheck&lt;PostgresStateStoreHealthCheck&gt;("statekit-postgres")</c>.
/// </summary>
/// <param name="store">The registered store: a <see cref="PostgresStateStore"/>, or decorators around one.</param>
public sealed class PostgresStateStoreHealthCheck(IStateStore store) : StateStorePingHealthCheck<PostgresStateStore>(store)
{
    /// <inheritdoc />
    protected override async ValueTask<(string Description, IReadOnlyDictionary<string, object> Data)> PingAsync(PostgresStateStore store, CancellationToken cancellationToken)
    {
        var version = await store.PingAsync(cancellationToken).ConfigureAwait(false);
        return ($"PostgreSQL answered and the StateKit schema is at version {version}.", new Dictionary<string, object> { ["schemaVersion"] = version });
    }
}
