using StateKit.Postgres.Internal;

namespace StateKit.Postgres;

/// <content>The change feed: LISTEN/NOTIFY.</content>
public sealed partial class PostgresStateStore : IStateChangeFeed
{
    private readonly object _changesLock = new();

    /// <inheritdoc />
    /// <remarks>
    /// Across processes and instances: the tables' triggers NOTIFY every committed change (entries and lists, by any
    /// writer) while at least one store's feed is registered (schema version 5: writes with nobody listening skip the
    /// notice and the commit-order lock PostgreSQL takes for it), and one connection per store LISTENs. Every change
    /// that commits after this method returns is announced. A delete, including one by
    /// <see cref="PurgeExpiredAsync"/>, is reported as <see cref="StateStoreChangeKind.Delete"/>. A lost connection is
    /// reported as <see cref="StateStoreChangeKind.Resync"/> and reconnected.
    /// </remarks>
    /// <exception cref="StateStoreUnavailableException">PostgreSQL could not be reached to start listening.</exception>
    public ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(onChange);
        PostgresChangeFeed changes;
        lock (_changesLock)
        {
            changes = _dialect.Changes ??= new PostgresChangeFeed(_dialect.ListenDataSource, _dialect.Channel, _dialect.Listeners, _ns, async ct => await PingAsync(ct).ConfigureAwait(false), _logger);
        }

        return changes.SubscribeAsync(prefix, onChange, cancellationToken);
    }
}
