using StateKit.Sqlite.Internal;

namespace StateKit.Sqlite;

/// <content>The change feed: a change log polled by every process on the file.</content>
public sealed partial class SqliteStateStore : IStateChangeFeed
{
    private readonly object _changesLock = new();

    /// <inheritdoc />
    /// <remarks>
    /// Across processes on the same database file: triggers write every committed change of entries and lists to a change
    /// log in the writing transaction (schema version 2), and the store polls it every
    /// <see cref="SqliteStateStoreOptions.ChangePollInterval"/> while it has subscribers. A delete, including one by
    /// <see cref="PurgeExpiredAsync"/>, is reported as <see cref="StateStoreChangeKind.Delete"/>. Log rows older than ten
    /// minutes are pruned; a subscriber that fell further behind gets <see cref="StateStoreChangeKind.Resync"/>.
    /// </remarks>
    public ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(onChange);
        SqliteChangeFeed changes;
        lock (_changesLock)
        {
            changes = _dialect.Changes ??= new SqliteChangeFeed(_dialect, _ns, _pollInterval, async ct => await PingAsync(ct).ConfigureAwait(false), _logger);
        }

        return changes.SubscribeAsync(prefix, onChange, cancellationToken);
    }
}
