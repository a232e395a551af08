namespace StateKit.Tests.Provider;

/// <summary>A store that forwards every call to another one; tests override what they need.</summary>
internal class DelegatingStore(IStateStore inner) : IStateStore
{
    public string Name => inner.Name;

    public virtual ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);

    public virtual ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default) => inner.GetManyAsync(keys, cancellationToken);

    public virtual ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) => inner.SetAsync(key, value, options, cancellationToken);

    public virtual ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default) => inner.SetManyAsync(writes, cancellationToken);

    public virtual ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, expectedVersion, cancellationToken);

    public virtual ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => inner.ExistsAsync(key, cancellationToken);

    public virtual ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) => inner.TouchAsync(key, timeToLive, cancellationToken);

    public virtual IAsyncEnumerable<string> ListKeysAsync(string prefix = "", CancellationToken cancellationToken = default) => inner.ListKeysAsync(prefix, cancellationToken);

    public virtual ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default) => inner.PurgeExpiredAsync(cancellationToken);

    public virtual ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) => inner.ListAppendAsync(key, items, timeToLive, cancellationToken);

    public virtual ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) => inner.ListRangeAsync(key, start, stop, cancellationToken);

    public virtual ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default) => inner.ListLengthAsync(key, cancellationToken);

    public virtual ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default) => inner.ListTrimAsync(key, start, stop, cancellationToken);

    public virtual ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default) => inner.ListDeleteAsync(key, cancellationToken);

    public virtual ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) => inner.ListTouchAsync(key, timeToLive, cancellationToken);

    public virtual ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>Leaves the inner store open when a DI container disposes it (the test fixture owns it).</summary>
internal sealed class NonDisposingStore(IStateStore inner) : DelegatingStore(inner)
{
    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Fails value writes once armed: after the given number of successful writes, every write throws.</summary>
internal sealed class FailingStore(IStateStore inner) : DelegatingStore(inner)
{
    private int _remaining = -1;

    public int Failures { get; private set; }

    /// <summary>Lets <paramref name="writes"/> more writes through, then fails; -1 disarms.</summary>
    public void FailAfterWrites(int writes) => _remaining = writes;

    public override ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
    {
        Count(key);
        return base.SetAsync(key, value, options, cancellationToken);
    }

    public override ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        Count(writes.Count > 0 ? writes[0].Key : string.Empty);
        return base.SetManyAsync(writes, cancellationToken);
    }

    /// <summary>Counts one write (a batch counts once) and fails it, before it reaches the store, when its turn has come.</summary>
    private void Count(string key)
    {
        if (_remaining == 0)
        {
            Failures++;
            _remaining = -1; // one failure, then the rollback may write again
            throw new StateStoreUnavailableException(Name, "Set", key, "injected failure.");
        }

        if (_remaining > 0)
        {
            _remaining--;
        }
    }
}
