namespace StateKit.Tests.Provider;

/// <summary>A store that forwards every call to another one (the public <see cref="DelegatingStateStore"/>); tests override what they need.</summary>
internal class DelegatingStore(IStateStore inner) : DelegatingStateStore(inner);

/// <summary>Leaves the inner store open when a DI container disposes it (the test fixture owns it).</summary>
internal sealed class NonDisposingStore(IStateStore inner) : DelegatingStore(inner)
{
    protected override ValueTask DisposeAsyncCore() => ValueTask.CompletedTask;
}

/// <summary>
/// A decorator that hides what it wraps: it declares no capability and the lookup finds nothing behind it, as a
/// third-party store written against the bare <see cref="IStateStore"/> interface would.
/// </summary>
internal sealed class OpaqueStore(IStateStore inner) : DelegatingStateStore(inner)
{
    public override object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceType == typeof(IStateStore) && serviceKey is null ? this : null;
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

/// <summary>Counts the single-entry reads that reach the store below it.</summary>
internal sealed class ReadCountingStore(IStateStore inner) : DelegatingStore(inner)
{
    private int _reads;
    private int _writes;

    /// <summary>Gets the single-key reads that reached the inner store.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Gets the writes that reached the inner store (a batch counts once).</summary>
    public int Writes => Volatile.Read(ref _writes);

    public void Reset()
    {
        Volatile.Write(ref _reads, 0);
        Volatile.Write(ref _writes, 0);
    }

    public override ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        return base.GetAsync(key, cancellationToken);
    }

    public override ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _writes);
        return base.SetAsync(key, value, options, cancellationToken);
    }

    public override ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _writes);
        return base.SetManyAsync(writes, cancellationToken);
    }
}
