namespace StateKit;

/// <summary>The backend could not be reached or refused to work (disk, server or connection failure).</summary>
public sealed class StateStoreUnavailableException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateStoreUnavailableException"/> class.</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="key">The key, if any.</param>
    /// <param name="detail">What went wrong, without secrets.</param>
    /// <param name="innerException">The underlying error.</param>
    public StateStoreUnavailableException(string storeName, string operation, string? key, string detail, Exception? innerException = null)
        : base($"{Describe(storeName, operation, key)}: the store is unavailable, {detail}", storeName, operation, key, innerException)
    {
    }
}
