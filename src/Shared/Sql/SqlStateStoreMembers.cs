// The IStateStore members of the SQL stores: each forwards to the shared SqlStateEngine.
// Source shared by StateKit.Sqlite and StateKit.Postgres (linked, compiled into each); the project's
// constant picks the class it completes.
#if STATEKIT_SQLITE
namespace StateKit.Sqlite;

/// <content>The <see cref="IStateStore"/> members, forwarded to the shared SQL engine.</content>
public sealed partial class SqliteStateStore : IStateStore, IStateStoreCapabilities, IVersionPreservingStateStore, IStateListCatalog, StateKit.Internal.IStateStoreLocation, StateKit.Internal.IStateStoreBackend
#elif STATEKIT_POSTGRES
namespace StateKit.Postgres;

/// <content>The <see cref="IStateStore"/> members, forwarded to the shared SQL engine.</content>
public sealed partial class PostgresStateStore : IStateStore, IStateStoreCapabilities, IVersionPreservingStateStore, IStateListCatalog, StateKit.Internal.IStateStoreLocation, StateKit.Internal.IStateStoreBackend
#endif
{
    /// <inheritdoc />
    string StateKit.Internal.IStateStoreLocation.Location => _dialect.Location;

    /// <inheritdoc />
    StateKit.Adapters.StateStoreGuard StateKit.Internal.IStateStoreBackend.Guard => _engine.Guard;

    /// <inheritdoc />
    /// <remarks>Batches are atomic: one transaction.</remarks>
    public StateStoreCapabilities Capabilities => StateStoreCapabilities.AtomicBatches;

    /// <inheritdoc />
    public ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) => _engine.GetAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default) => _engine.GetManyAsync(keys, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) => _engine.SetAsync(key, value, options, cancellationToken);

    /// <inheritdoc />
    /// <remarks>The batch is one transaction: when a conditional write conflicts, nothing of the batch is written.</remarks>
    public ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default) => _engine.SetManyAsync(writes, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
        _engine.SetAtVersionAsync(key, value, version, expiresAt, cancellationToken);

    /// <inheritdoc />
    /// <remarks>In one transaction: all the entries are written, or none.</remarks>
    public ValueTask<IReadOnlyList<bool>> SetManyAtVersionAsync(IReadOnlyList<StateEntry> entries, CancellationToken cancellationToken = default) =>
        _engine.SetManyAtVersionAsync(entries, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) => _engine.DeleteAsync(key, expectedVersion, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => _engine.ExistsAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) => _engine.TouchAsync(key, timeToLive, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListKeysAsync(string prefix = "", CancellationToken cancellationToken = default) => _engine.ListKeysAsync(prefix, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<StateListInfo> ListListsAsync(string prefix = "", CancellationToken cancellationToken = default) => _engine.ListListsAsync(prefix, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default) => _engine.PurgeExpiredAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) => _engine.ListAppendAsync(key, items, timeToLive, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) => _engine.ListRangeAsync(key, start, stop, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default) => _engine.ListLengthAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default) => _engine.ListTrimAsync(key, start, stop, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default) => _engine.ListDeleteAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) => _engine.ListTouchAsync(key, timeToLive, cancellationToken);

    /// <summary>Opens a connection, checks the schema and runs <c>SELECT 1</c>; used by the health check.</summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The schema version in use.</returns>
    public ValueTask<int> PingAsync(CancellationToken cancellationToken = default) => _engine.PingAsync(cancellationToken);

    /// <summary>Releases the store's connections (a data source given by the application is left open).</summary>
    /// <returns>A task.</returns>
    public ValueTask DisposeAsync() => _engine.MarkDisposed() ? _dialect.DisposeAsync() : ValueTask.CompletedTask;
}
