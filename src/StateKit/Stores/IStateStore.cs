using StateKit.Adapters;

namespace StateKit;

/// <summary>
/// A byte-level, versioned key–value store with expiry, batch operations, prefix listing and
/// append-only lists. Every StateKit backend implements it, and so does every decorator.
/// </summary>
/// <remarks>
/// <para>
/// Entries carry a version owned by the store: 1 when the entry is created, +1 on every write.
/// A write may carry an expected version (<c>0</c> = the key must not exist, <c>n</c> = it must be
/// at version n); on a mismatch a <see cref="StateConflictException"/> is thrown and nothing is written.
/// </para>
/// <para>
/// Expired entries and lists are never returned, listed or counted, even before a purge removes them.
/// Entries and lists live in separate namespaces: a list and an entry may share a key.
/// </para>
/// <para>
/// One rule for a missing time to live on every write path (set, conditional set, batch, list append): the store's
/// <see cref="StateStoreOptions.DefaultTimeToLive"/> applies, whether the write creates or replaces;
/// <see cref="StateTimeToLive.KeepCurrent"/> keeps the current expiry. Expiry instants are whole Unix milliseconds, rounded up (<see cref="StateStoreGuard.ExpiryFrom"/>). A listing prefix
/// follows the character rules of keys but not their segment rule. After <see cref="IAsyncDisposable.DisposeAsync"/>
/// every operation throws <see cref="ObjectDisposedException"/>, and a cancelled token is honoured on entry by every
/// operation, even one with nothing to do.
/// </para>
/// <para>Implementations are safe for any number of concurrent callers.</para>
/// </remarks>
public interface IStateStore : IAsyncDisposable
{
    /// <summary>Gets the backend name used in errors, logs and metrics (for example <c>memory</c> or <c>file</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Asks the store, and through a decorator the stores it wraps, for an object of <paramref name="serviceType"/>: the
    /// store itself, a capability interface (<see cref="IStateStoreCapabilities"/>, <see cref="IStateChangeFeed"/>) or a backend type (<c>RedisStateStore</c>). Health checks and diagnostics use it
    /// instead of type tests, so that they still find their backend when it is wrapped.
    /// </summary>
    /// <remarks>
    /// The default answer is this store when it is a <paramref name="serviceType"/> and no key is given, otherwise
    /// <see langword="null"/>. <see cref="DelegatingStateStore"/> asks itself first, then the store it wraps, so the
    /// outermost match wins. See <see cref="StateStoreExtensions.GetService{T}(IStateStore, object?)"/>.
    /// </remarks>
    /// <param name="serviceType">The type asked for.</param>
    /// <param name="serviceKey">An optional key, for stores that hold several objects of one type; <see langword="null"/> for none.</param>
    /// <returns>The object, or <see langword="null"/> when this pipeline has none.</returns>
    object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Reads one entry.</summary>
    /// <param name="key">The key to read.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The entry, or <see langword="null"/> when it does not exist or has expired.</returns>
    /// <exception cref="InvalidStateKeyException">The key is not valid.</exception>
    /// <exception cref="StateCorruptedException">The stored bytes are damaged.</exception>
    ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Reads several entries at once.</summary>
    /// <param name="keys">The keys to read; a key given twice appears once in the result.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The live entries found, by key; missing and expired keys are absent.</returns>
    ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default);

    /// <summary>Writes one entry.</summary>
    /// <param name="key">The key to write.</param>
    /// <param name="value">The bytes to store; the store keeps its own copy.</param>
    /// <param name="options">The expected version and time to live of the write.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The new version of the entry.</returns>
    /// <exception cref="StateConflictException">The expected version does not match; nothing was written.</exception>
    /// <exception cref="StateValueTooLargeException">The value exceeds the configured maximum; nothing was written.</exception>
    /// <exception cref="InvalidStateKeyException">The key is not valid.</exception>
    ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default);

    /// <summary>Writes several entries.</summary>
    /// <remarks>
    /// Every key and value is validated, and every expected version checked, before anything is written: when one write
    /// conflicts, nothing of the batch is written and the <see cref="StateConflictException"/> names its key. The writes
    /// apply in order; a key written twice sees its own earlier write (its version and its expiry). The memory, SQLite,
    /// PostgreSQL and Redis stores apply a batch atomically (they declare <see cref="StateStoreCapabilities.AtomicBatches"/>,
    /// see <see cref="StateStoreExtensions.GetCapabilities"/>); the file store replaces its files one by one under the locks
    /// of all the batch's keys, so a crash or an I/O failure part-way can leave the first writes applied, which it reports
    /// as <see cref="StateStoreUnavailableException.WriteMayHaveApplied"/>.
    /// </remarks>
    /// <param name="writes">The writes to apply.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The new version of each entry, in the order of <paramref name="writes"/>.</returns>
    ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default);

    /// <summary>Deletes one entry.</summary>
    /// <param name="key">The key to delete.</param>
    /// <param name="expectedVersion">When set (1 or more), the entry is deleted only at this version.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when a live entry was deleted.</returns>
    /// <exception cref="StateConflictException">An expected version was given and does not match.</exception>
    ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default);

    /// <summary>Tells whether a live entry exists.</summary>
    /// <param name="key">The key to look for.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when the entry exists and has not expired.</returns>
    ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Moves the expiry of a live entry to now + <paramref name="timeToLive"/> without rewriting its value or version.</summary>
    /// <param name="key">The key to refresh.</param>
    /// <param name="timeToLive">The new time to live, or <see cref="Timeout.InfiniteTimeSpan"/> to remove the expiry.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when the entry exists; <see langword="false"/> when it is missing or expired.</returns>
    ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <summary>Streams the keys of live entries that start with <paramref name="prefix"/>, in no particular order.</summary>
    /// <param name="prefix">The key prefix; empty lists every entry.</param>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The matching keys. Keys written while the enumeration runs may or may not appear.</returns>
    IAsyncEnumerable<string> ListKeysAsync(string prefix = "", CancellationToken cancellationToken = default);

    /// <summary>Removes expired entries and lists from the backing storage.</summary>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The number of entries and lists removed.</returns>
    ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default);

    /// <summary>Appends items to the end of a list, creating it when missing.</summary>
    /// <param name="key">The list key.</param>
    /// <param name="items">The items to append, in order; the store keeps its own copies. No items: nothing changes.</param>
    /// <param name="timeToLive">
    /// How long the list lives after this append, with the same rule as every write: <see langword="null"/> applies the
    /// store's default (to an existing list too), <see cref="StateTimeToLive.KeepCurrent"/> keeps an existing list's
    /// expiry (a new list gets the default), <see cref="Timeout.InfiniteTimeSpan"/> means no expiry.
    /// </param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The length of the list after the append.</returns>
    ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <summary>Reads items <paramref name="start"/> to <paramref name="stop"/> inclusive, with Redis LRANGE indices.</summary>
    /// <remarks>Negative indices count from the end: <c>-1</c> is the last item, so <c>(-20, -1)</c> reads the last 20.</remarks>
    /// <param name="key">The list key.</param>
    /// <param name="start">The first index.</param>
    /// <param name="stop">The last index, inclusive.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The items in the range; empty when the list is missing, expired or the range is empty.</returns>
    ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default);

    /// <summary>Gets the number of items in a list.</summary>
    /// <param name="key">The list key.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The length; 0 when the list is missing or expired.</returns>
    ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Keeps only items <paramref name="start"/> to <paramref name="stop"/> inclusive (Redis LTRIM indices).</summary>
    /// <param name="key">The list key.</param>
    /// <param name="start">The first index to keep.</param>
    /// <param name="stop">The last index to keep, inclusive.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The length after trimming; a list trimmed to nothing is deleted.</returns>
    ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default);

    /// <summary>Deletes a list.</summary>
    /// <param name="key">The list key.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when a live list was deleted.</returns>
    ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Moves the expiry of a live list to now + <paramref name="timeToLive"/>.</summary>
    /// <param name="key">The list key.</param>
    /// <param name="timeToLive">The new time to live, or <see cref="Timeout.InfiniteTimeSpan"/> to remove the expiry.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when the list exists; otherwise <see langword="false"/>.</returns>
    ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default);
}
