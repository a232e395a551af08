namespace StateKit.Adapters;

/// <summary>
/// The argument checks every StateKit store applies before touching its backend: keys, value sizes,
/// expected versions and expiry. Public so that third-party adapters apply exactly the same rules.
/// </summary>
public sealed class StateStoreGuard
{
    private int _disposed;

    /// <summary>Initializes a new instance of the <see cref="StateStoreGuard"/> class.</summary>
    /// <param name="storeName">The store name used in errors.</param>
    /// <param name="options">The store options; their key prefix is validated here.</param>
    /// <param name="timeProvider">The clock for expiry; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public StateStoreGuard(string storeName, StateStoreOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeName);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxKeyLength, 1, nameof(options) + "." + nameof(options.MaxKeyLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxValueBytes, 1, nameof(options) + "." + nameof(options.MaxValueBytes));
        if (options.KeyPrefix is null || (options.KeyPrefix.Length > 0 && !StateKeys.IsValid(options.KeyPrefix, StateKitDefaults.MaxKeyPrefixLength, out _)))
        {
            throw new InvalidStateKeyException(storeName, options.KeyPrefix, "configuration of the key prefix", "the key prefix must follow the key rules and be at most " + StateKitDefaults.MaxKeyPrefixLength + " characters");
        }

        if (options.DefaultTimeToLive is { } ttl)
        {
            ValidateTimeToLive(ttl, nameof(options.DefaultTimeToLive));
        }

        StoreName = storeName;
        Options = options;
        TimeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Gets the store name used in errors.</summary>
    public string StoreName { get; }

    /// <summary>
    /// Counts one retried attempt in <see cref="StateKitTelemetry.Retries"/> (an adapter calls it each time it retries a
    /// transient failure, so retries show in the app's metrics).
    /// </summary>
    /// <param name="operation">The operation being retried, such as <c>Set</c>.</param>
    public void RecordRetry(string operation) => Metrics.RecordRetry(StoreName, operation);

    /// <summary>Gets or sets where retries are counted: the container's instruments for a pipeline built by <c>AddStateKit</c>.</summary>
    internal StateKit.Internal.StateKitMetrics Metrics { get; set; } = StateKit.Internal.StateKitMetrics.Process;

    /// <summary>Gets the store options.</summary>
    public StateStoreOptions Options { get; }

    /// <summary>Gets the clock used for expiry.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>Gets a value indicating whether the store was disposed (see <see cref="MarkDisposed"/>).</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Records that the store is disposed: from now on every check throws <see cref="ObjectDisposedException"/>.</summary>
    /// <returns><see langword="true"/> the first time; <see langword="false"/> when the store was already disposed.</returns>
    public bool MarkDisposed() => Interlocked.Exchange(ref _disposed, 1) == 0;

    /// <summary>The entry check of every operation: throws when the store is disposed or the token is cancelled.</summary>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    /// <exception cref="OperationCanceledException">The token is cancelled.</exception>
    public void Enter(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
    }

    private void ThrowIfDisposed()
    {
        if (IsDisposed)
        {
            throw new ObjectDisposedException(StoreName, $"The '{StoreName}' store was disposed.");
        }
    }

    /// <summary>Throws <see cref="InvalidStateKeyException"/> when the key is not valid.</summary>
    /// <param name="key">The key.</param>
    /// <param name="operation">The operation, for the message.</param>
    public void ValidateKey(string key, string operation)
    {
        ThrowIfDisposed();
        StateKeys.Validate(key, Options.MaxKeyLength, StoreName, operation);
    }

    /// <summary>Checks a listing prefix: the key characters rules apply, the <c>.</c>/<c>..</c> segment rule does not (a prefix may end inside a segment).</summary>
    /// <param name="prefix">The prefix; empty lists everything.</param>
    /// <param name="operation">The operation, for the message.</param>
    /// <exception cref="ArgumentNullException"><paramref name="prefix"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidStateKeyException">No valid key can start with the prefix.</exception>
    public void ValidatePrefix(string prefix, string operation)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ThrowIfDisposed();
        if (!StateKeys.IsValidPrefix(prefix, Options.MaxKeyLength, out var reason))
        {
            throw new InvalidStateKeyException(StoreName, prefix, operation, reason);
        }
    }

    /// <summary>Checks every key of a multi-key read and returns each key once, in first-seen order.</summary>
    /// <param name="keys">The keys.</param>
    /// <param name="operation">The operation, for the message.</param>
    /// <returns>The distinct keys.</returns>
    public IReadOnlyList<string> ValidateDistinctKeys(IReadOnlyCollection<string> keys, string operation)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ThrowIfDisposed();
        var distinct = new List<string>(keys.Count);
        var seen = new HashSet<string>(keys.Count, StringComparer.Ordinal);
        foreach (var key in keys)
        {
            ValidateKey(key, operation);
            if (seen.Add(key))
            {
                distinct.Add(key);
            }
        }

        return distinct;
    }

    /// <summary>Checks the key, size, expected version and time to live of one write.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="options">The write options.</param>
    /// <param name="operation">The operation, for the message.</param>
    public void ValidateWrite(string key, ReadOnlyMemory<byte> value, StateWriteOptions options, string operation)
    {
        ValidateKey(key, operation);
        ValidateSize(key, value.Length, operation);
        if (options.ExpectedVersion is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ExpectedVersion, $"The '{StoreName}' store: an expected version must be 0 (must not exist) or more.");
        }

        if (options.TimeToLive is { } ttl && ttl != StateTimeToLive.KeepCurrent)
        {
            ValidateTimeToLive(ttl, nameof(options.TimeToLive));
        }
    }

    /// <summary>Checks a version-preserving write (<see cref="IVersionPreservingStateStore.SetAtVersionAsync"/>).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="version">The version to keep; 1 or more.</param>
    /// <param name="expiresAt">The expiry, if any.</param>
    /// <param name="operation">The operation, for the message.</param>
    /// <returns>The expiry rounded up to the millisecond, as every store keeps it.</returns>
    public DateTimeOffset? ValidateVersionedWrite(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, string operation)
    {
        ValidateKey(key, operation);
        ValidateSize(key, value.Length, operation);
        if (version < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, $"The '{StoreName}' store: a version-preserving write needs a version of 1 or more.");
        }

        return expiresAt is { } at ? RoundUpToMillisecond(at) : null;
    }

    /// <summary>Checks every write of a batch, so that nothing is written when one of them is invalid.</summary>
    /// <param name="writes">The batch.</param>
    /// <param name="operation">The operation, for the message.</param>
    public void ValidateBatch(IReadOnlyList<StateWrite> writes, string operation)
    {
        ArgumentNullException.ThrowIfNull(writes);
        ThrowIfDisposed();
        foreach (var write in writes)
        {
            ValidateWrite(write.Key, write.Value, write.Options, operation);
        }
    }

    /// <summary>Checks the key and every item of a list append.</summary>
    /// <param name="key">The list key.</param>
    /// <param name="items">The items.</param>
    /// <param name="timeToLive">The optional time to live.</param>
    /// <param name="operation">The operation, for the message.</param>
    public void ValidateAppend(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive, string operation)
    {
        ValidateKey(key, operation);
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count > Options.MaxAppendItems)
        {
            throw new ArgumentOutOfRangeException(nameof(items), items.Count, $"The '{StoreName}' store refused {operation} of key '{StateKeys.Printable(key)}': {items.Count:N0} items in one append, the limit is {Options.MaxAppendItems:N0} (StateStoreOptions.MaxAppendItems). Nothing was written.");
        }

        foreach (var item in items)
        {
            ValidateSize(key, item.Length, operation);
        }

        if (timeToLive is { } ttl && ttl != StateTimeToLive.KeepCurrent)
        {
            ValidateTimeToLive(ttl, nameof(timeToLive));
        }
    }

    /// <summary>Checks the expected version of a conditional delete.</summary>
    /// <param name="expectedVersion">The expected version; must be 1 or more when set.</param>
    public void ValidateDeleteVersion(long? expectedVersion)
    {
        if (expectedVersion is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(expectedVersion), expectedVersion, $"The '{StoreName}' store: a conditional delete needs an expected version of 1 or more.");
        }
    }

    /// <summary>
    /// Throws when a time to live is neither positive nor <see cref="Timeout.InfiniteTimeSpan"/> (also for
    /// <see cref="StateTimeToLive.KeepCurrent"/>, which only writes accept).
    /// </summary>
    /// <param name="timeToLive">The time to live.</param>
    /// <param name="parameterName">The parameter name for the exception.</param>
    public static void ValidateTimeToLive(TimeSpan timeToLive, string parameterName = "timeToLive")
    {
        if (timeToLive <= TimeSpan.Zero && timeToLive != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(parameterName, timeToLive, "A time to live must be positive, or Timeout.InfiniteTimeSpan for no expiry.");
        }
    }

    /// <summary>
    /// Turns a write's time to live into the absolute expiry of an entry or list the write creates: the store default
    /// for <see langword="null"/> and for <see cref="StateTimeToLive.KeepCurrent"/> (there is no current expiry to keep).
    /// A write that replaces a live entry or appends to a live list with <see cref="StateTimeToLive.KeepCurrent"/> keeps
    /// that entry's or list's expiry instead (<see cref="KeepsExpiry"/>).
    /// </summary>
    /// <param name="timeToLive">The write's time to live.</param>
    /// <returns>The expiry, or <see langword="null"/> for none.</returns>
    public DateTimeOffset? ResolveExpiry(TimeSpan? timeToLive) =>
        ExpiryFrom(timeToLive is null || timeToLive == StateTimeToLive.KeepCurrent ? Options.DefaultTimeToLive : timeToLive);

    /// <summary>Tells whether a write keeps the expiry of the live entry or list it replaces or extends.</summary>
    /// <param name="timeToLive">The write's time to live.</param>
    /// <returns><see langword="true"/> for <see cref="StateTimeToLive.KeepCurrent"/>.</returns>
    public static bool KeepsExpiry(TimeSpan? timeToLive) => timeToLive == StateTimeToLive.KeepCurrent;

    /// <summary>Turns an explicit time to live (not <see cref="StateTimeToLive.KeepCurrent"/>) into an absolute expiry (no default applied).</summary>
    /// <remarks>
    /// Expiry instants are whole Unix milliseconds, rounded up, on every store: SQL and Redis keep milliseconds, so a
    /// finer instant would make an entry live a little longer in memory than in a database, and a sub-millisecond time
    /// to live would be due at once in one store and live in another.
    /// </remarks>
    /// <param name="timeToLive">The time to live; <see langword="null"/> or infinite means none.</param>
    /// <returns>The expiry, or <see langword="null"/> for none.</returns>
    public DateTimeOffset? ExpiryFrom(TimeSpan? timeToLive) =>
        timeToLive is { } ttl && ttl != Timeout.InfiniteTimeSpan ? RoundUpToMillisecond(TimeProvider.GetUtcNow() + ttl) : null;

    /// <summary>Rounds an instant up to the next whole millisecond (unchanged when it is one already).</summary>
    /// <param name="at">The instant.</param>
    /// <returns>The rounded instant, in UTC.</returns>
    public static DateTimeOffset RoundUpToMillisecond(DateTimeOffset at)
    {
        var ticks = at.UtcTicks;
        var remainder = ticks % TimeSpan.TicksPerMillisecond;
        return new DateTimeOffset(remainder == 0 ? ticks : ticks + TimeSpan.TicksPerMillisecond - remainder, TimeSpan.Zero);
    }

    /// <summary>
    /// Works out the version and expiry each write of a batch produces, in order, from the live state of each key: a key
    /// written twice sees its own earlier write (its version, and its expiry for <see cref="StateTimeToLive.KeepCurrent"/>).
    /// Every condition is checked here, before anything is written.
    /// </summary>
    /// <param name="writes">The batch.</param>
    /// <param name="live">The live version and expiry of a key before the batch (<c>default</c> when missing or expired).</param>
    /// <param name="operation">The operation, for the conflict message.</param>
    /// <returns>The new version and expiry of each write.</returns>
    /// <exception cref="StateConflictException">A write's expected version does not match; nothing may be written.</exception>
    public StateWritePlan[] PlanBatch(IReadOnlyList<StateWrite> writes, Func<string, StateWritePlan> live, string operation)
    {
        ArgumentNullException.ThrowIfNull(writes);
        ArgumentNullException.ThrowIfNull(live);
        var plans = new StateWritePlan[writes.Count];

        // Small batches (the common case: a value and its history record) look back for an earlier write of the same key.
        var current = writes.Count > 8 ? new Dictionary<string, StateWritePlan>(writes.Count, StringComparer.Ordinal) : null;
        for (var i = 0; i < writes.Count; i++)
        {
            var write = writes[i];
            StateWritePlan? before = null;
            if (current is null)
            {
                for (var j = i - 1; j >= 0 && before is null; j--)
                {
                    before = string.Equals(writes[j].Key, write.Key, StringComparison.Ordinal) ? plans[j] : null;
                }
            }
            else if (current.TryGetValue(write.Key, out var seen))
            {
                before = seen;
            }

            var previous = before ?? live(write.Key);
            if (write.Options.ExpectedVersion is { } expected && expected != previous.Version)
            {
                throw new StateConflictException(StoreName, operation, write.Key, expected, previous.Version);
            }

            var expiresAt = KeepsExpiry(write.Options.TimeToLive) && previous.Version > 0 ? previous.ExpiresAt : ResolveExpiry(write.Options.TimeToLive);
            plans[i] = new StateWritePlan(previous.Version + 1, expiresAt);
            if (current is not null)
            {
                current[write.Key] = plans[i];
            }
        }

        return plans;
    }

    /// <summary>Tells whether an expiry has passed.</summary>
    /// <param name="expiresAt">The expiry, or <see langword="null"/> for none.</param>
    /// <returns><see langword="true"/> when the expiry is at or before now.</returns>
    public bool IsExpired(DateTimeOffset? expiresAt) => expiresAt is { } at && at <= TimeProvider.GetUtcNow();

    private void ValidateSize(string key, int length, string operation)
    {
        if (length > Options.MaxValueBytes)
        {
            throw new StateValueTooLargeException(StoreName, operation, key, length, Options.MaxValueBytes);
        }
    }
}
