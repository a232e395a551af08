namespace StateKit;

/// <summary>A lease was lost while work ran under it (<see cref="IStateLeaseManager.RunAsync"/>): a renewal found it expired and taken, or the store refused.</summary>
public sealed class StateLeaseLostException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateLeaseLostException"/> class.</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="resource">The resource.</param>
    /// <param name="fencingToken">The lost grant's fencing token.</param>
    /// <param name="innerException">The renewal's failure, if the store failed.</param>
    public StateLeaseLostException(string storeName, string resource, long fencingToken, Exception? innerException = null)
        : base($"{Describe(storeName, "lease renewal", resource)}: the lease (fencing token {fencingToken}) was lost while work ran under it; the work was cancelled.", storeName, "lease renewal", resource, innerException)
    {
        FencingToken = fencingToken;
    }

    /// <summary>Gets the lost grant's fencing token.</summary>
    public long FencingToken { get; }
}
