namespace StateKit;

/// <summary>The backend could not be reached or refused to work (disk, server or connection failure).</summary>
/// <remarks>
/// When <see cref="WriteMayHaveApplied"/> is <see langword="true"/> the outcome of a write is unknown: the
/// request may have reached the backend before the connection failed or the wait timed out. Read the key
/// (and its version) before retrying a write that must not apply twice.
/// </remarks>
public sealed class StateStoreUnavailableException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateStoreUnavailableException"/> class.</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="key">The key, if any.</param>
    /// <param name="detail">What went wrong, without secrets.</param>
    /// <param name="innerException">The underlying error.</param>
    /// <param name="writeMayHaveApplied"><see langword="true"/> when a write failed after it was sent, so it may have been applied.</param>
    public StateStoreUnavailableException(string storeName, string operation, string? key, string detail, Exception? innerException = null, bool writeMayHaveApplied = false)
        : base(
            $"{Describe(storeName, operation, key)}: the store is unavailable, {detail}{(writeMayHaveApplied ? " The outcome is indeterminate: the write was sent and may have been applied; read the key before retrying." : string.Empty)}",
            storeName,
            operation,
            key,
            innerException)
    {
        WriteMayHaveApplied = writeMayHaveApplied;
    }

    /// <summary>
    /// Gets a value indicating whether the failed operation was a write whose outcome is unknown
    /// (sent, then the connection failed or the reply timed out). <see langword="false"/> means nothing was written.
    /// </summary>
    public bool WriteMayHaveApplied { get; }
}
