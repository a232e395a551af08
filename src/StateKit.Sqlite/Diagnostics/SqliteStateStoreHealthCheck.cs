namespace StateKit.Sqlite;

/// <summary>
/// Checks that the registered SQLite store reaches its server: a schema version round trip through the store's own
/// connection. Register it with <c>services.AddHealthChecks().AddCheck&lt;SqliteStateStoreHealthCheck&gt;("statekit-sqlite")</c>.
/// </summary>
/// <param name="store">The registered store: a <see cref="SqliteStateStore"/>, or decorators around one.</param>
public sealed class SqliteStateStoreHealthCheck(IStateStore store) : StateStorePingHealthCheck<SqliteStateStore>(store)
{
    /// <inheritdoc />
    protected override async ValueTask<(string Description, IReadOnlyDictionary<string, object> Data)> PingAsync(SqliteStateStore store, CancellationToken cancellationToken)
    {
        var version = await store.PingAsync(cancellationToken).ConfigureAwait(false);
        return ($"SQLite answered and the StateKit schema is at version {version}.", new Dictionary<string, object> { ["schemaVersion"] = version });
    }
}
