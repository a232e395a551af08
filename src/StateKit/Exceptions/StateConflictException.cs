namespace StateKit;

/// <summary>A write or delete expected a version the entry does not have; nothing was written.</summary>
public sealed class StateConflictException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateConflictException"/> class.</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="key">The key.</param>
    /// <param name="expectedVersion">The version the caller expected (0 = must not exist).</param>
    /// <param name="currentVersion">The version the entry has (0 = it does not exist).</param>
    public StateConflictException(string storeName, string operation, string key, long expectedVersion, long currentVersion)
        : base(
            $"{Describe(storeName, operation, key)}: version conflict, expected {(expectedVersion == 0 ? "no entry" : $"version {expectedVersion}")} but {(currentVersion == 0 ? "there is no entry" : $"the current version is {currentVersion}")}. Nothing was written.",
            storeName,
            operation,
            key)
    {
        ExpectedVersion = expectedVersion;
        CurrentVersion = currentVersion;
    }

    /// <summary>Gets the version the caller expected (0 = must not exist).</summary>
    public long ExpectedVersion { get; }

    /// <summary>Gets the version the entry had when the write was refused (0 = it does not exist).</summary>
    public long CurrentVersion { get; }
}
