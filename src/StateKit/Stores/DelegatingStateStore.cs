namespace StateKit;

/// <summary>
/// The base of a store decorator: every member forwards to <see cref="InnerStore"/>, so a decorator overrides only
/// what it changes (metrics, an in-process tier, a fallback, write-behind, …) and stays correct as the contract grows.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="GetService"/> answers for this decorator first and then asks the inner store, so capabilities and backend
/// types are found through any number of decorators. A decorator that weakens a guarantee of the store it wraps (for
/// example a batch that is no longer atomic) overrides <see cref="GetService"/> to answer for
/// <see cref="IStateStoreCapabilities"/> itself.
/// </para>
/// <para>
/// The base also forwards <see cref="IVersionPreservingStateStore.SetAtVersionAsync"/>, so a decorator that changes
/// writes (a cache to invalidate, keys to map) overrides it with the other writes; the lookup answers for it only when
/// the inner store provides it.
/// </para>
/// <para>The decorator owns its inner store: <see cref="DisposeAsync"/> disposes it.</para>
/// </remarks>
public abstract class DelegatingStateStore : IStateStore, IVersionPreservingStateStore
{
    /// <summary>Initializes a new instance of the <see cref="DelegatingStateStore"/> class.</summary>
    /// <param name="innerStore">The store to forward to; disposed with this one.</param>
    protected DelegatingStateStore(IStateStore innerStore)
    {
        ArgumentNullException.ThrowIfNull(innerStore);
        InnerStore = innerStore;
    }

    private int _disposed;

    /// <summary>Gets the store this decorator forwards to.</summary>
    protected IStateStore InnerStore { get; }

    /// <summary>Gets the wrapped store, for StateKit's own description of a pipeline.</summary>
    internal IStateStore Inner => InnerStore;

    /// <inheritdoc />
    public virtual string Name => InnerStore.Name;

    /// <inheritdoc />
    public virtual object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null && serviceType.IsInstanceOfType(this))
        {
            // The forwarding SetAtVersionAsync works only over a store that provides it: do not pretend otherwise.
            return serviceType != typeof(IVersionPreservingStateStore) || InnerStore.GetService(serviceType) is not null ? this : null;
        }

        return InnerStore.GetService(serviceType, serviceKey);
    }

    /// <inheritdoc />
    public virtual ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        InnerStore.GetAsync(key, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default) =>
        InnerStore.GetManyAsync(keys, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) =>
        InnerStore.SetAsync(key, value, options, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default) =>
        InnerStore.SetManyAsync(writes, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The inner store pipeline has no <see cref="IVersionPreservingStateStore"/>.</exception>
    public virtual ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
        (InnerStore.GetService<IVersionPreservingStateStore>() ?? throw new NotSupportedException($"The '{Name}' store does not provide version-preserving writes."))
            .SetAtVersionAsync(key, value, version, expiresAt, cancellationToken);

    /// <inheritdoc cref="IVersionPreservingStateStore.SetManyAtVersionAsync"/>
    /// <remarks>
    /// A decorator that does not override <see cref="SetAtVersionAsync"/> forwards the batch to the store under it; one
    /// that does (to transform or track each write) gets each entry through its own <see cref="SetAtVersionAsync"/>,
    /// several at a time, unless it overrides this too. So a batch never skips what a decorator does to one write.
    /// </remarks>
    public virtual async ValueTask<IReadOnlyList<bool>> SetManyAtVersionAsync(IReadOnlyList<StateEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (OverridesSingleWrite(GetType()))
        {
            return await Task.WhenAll(entries.Select(e => SetAtVersionAsync(e.Key, e.Value, e.Version, e.ExpiresAt, cancellationToken).AsTask())).ConfigureAwait(false);
        }

        var inner = InnerStore.GetService<IVersionPreservingStateStore>() ?? throw new NotSupportedException($"The '{Name}' store does not provide version-preserving writes.");
        return await inner.SetManyAtVersionAsync(entries, cancellationToken).ConfigureAwait(false);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, bool> SingleWriteOverridden = new();

    /// <summary>Whether <paramref name="type"/> overrides <see cref="SetAtVersionAsync"/> without overriding the batch.</summary>
    private static bool OverridesSingleWrite(Type type) => SingleWriteOverridden.GetOrAdd(type, static t =>
    {
        var single = t.GetMethod(nameof(SetAtVersionAsync), [typeof(string), typeof(ReadOnlyMemory<byte>), typeof(long), typeof(DateTimeOffset?), typeof(CancellationToken)])!;
        var batch = t.GetMethod(nameof(SetManyAtVersionAsync), [typeof(IReadOnlyList<StateEntry>), typeof(CancellationToken)])!;
        return single.DeclaringType != typeof(DelegatingStateStore) && batch.DeclaringType == typeof(DelegatingStateStore);
    });

    /// <inheritdoc />
    public virtual ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) =>
        InnerStore.DeleteAsync(key, expectedVersion, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        InnerStore.ExistsAsync(key, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        InnerStore.TouchAsync(key, timeToLive, cancellationToken);

    /// <inheritdoc />
    public virtual IAsyncEnumerable<string> ListKeysAsync(string prefix = "", CancellationToken cancellationToken = default) =>
        InnerStore.ListKeysAsync(prefix, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default) =>
        InnerStore.PurgeExpiredAsync(cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) =>
        InnerStore.ListAppendAsync(key, items, timeToLive, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) =>
        InnerStore.ListRangeAsync(key, start, stop, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default) =>
        InnerStore.ListLengthAsync(key, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default) =>
        InnerStore.ListTrimAsync(key, start, stop, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default) =>
        InnerStore.ListDeleteAsync(key, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        InnerStore.ListTouchAsync(key, timeToLive, cancellationToken);

    /// <summary>Disposes the inner store. Only the first call does anything (a pipeline can be disposed by its owner and by a container).</summary>
    /// <returns>A task that completes when the inner store is disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await DisposeAsyncCore().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases this decorator's own resources, then the inner store's; override to release more, calling the base.</summary>
    /// <returns>A task.</returns>
    protected virtual ValueTask DisposeAsyncCore() => InnerStore.DisposeAsync();
}
