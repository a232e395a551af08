namespace StateKit.Tests.Resilience;

/// <summary>A store that can be taken down: while <see cref="Down"/>, every operation fails as an unreachable server does.</summary>
internal sealed class SwitchableStore(IStateStore inner, bool ownsInner = true) : DelegatingStateStore(inner)
{
    public bool Down { get; set; }

    public override ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<StateEntry?>(Failure()) : base.GetAsync(key, cancellationToken);

    public override ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<IReadOnlyDictionary<string, StateEntry>>(Failure()) : base.GetManyAsync(keys, cancellationToken);

    public override ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<long>(Failure()) : base.SetAsync(key, value, options, cancellationToken);

    public override ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<IReadOnlyList<long>>(Failure()) : base.SetManyAsync(writes, cancellationToken);

    public override ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<bool>(Failure()) : base.SetAtVersionAsync(key, value, version, expiresAt, cancellationToken);

    public override ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<bool>(Failure()) : base.DeleteAsync(key, expectedVersion, cancellationToken);

    public override ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<bool>(Failure()) : base.ExistsAsync(key, cancellationToken);

    public override ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<bool>(Failure()) : base.TouchAsync(key, timeToLive, cancellationToken);

    public override IAsyncEnumerable<string> ListKeysAsync(string prefix = "", CancellationToken cancellationToken = default) =>
        Down ? throw Failure() : base.ListKeysAsync(prefix, cancellationToken);

    public override ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<long>(Failure()) : base.PurgeExpiredAsync(cancellationToken);

    public override ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<long>(Failure()) : base.ListAppendAsync(key, items, timeToLive, cancellationToken);

    public override ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<IReadOnlyList<ReadOnlyMemory<byte>>>(Failure()) : base.ListRangeAsync(key, start, stop, cancellationToken);

    public override ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<long>(Failure()) : base.ListLengthAsync(key, cancellationToken);

    public override ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<long>(Failure()) : base.ListTrimAsync(key, start, stop, cancellationToken);

    public override ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<bool>(Failure()) : base.ListDeleteAsync(key, cancellationToken);

    public override ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) => Down ? ValueTask.FromException<bool>(Failure()) : base.ListTouchAsync(key, timeToLive, cancellationToken);

    protected override ValueTask DisposeAsyncCore() => ownsInner ? base.DisposeAsyncCore() : ValueTask.CompletedTask;

    private StateStoreUnavailableException Failure() => new(Name, "test", null, "the server is down (test)");
}
