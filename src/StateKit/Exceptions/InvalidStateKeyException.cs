using StateKit.Adapters;

namespace StateKit;

/// <summary>A key (or key prefix) breaks the rules of <see cref="StateKeys"/>; nothing was read or written.</summary>
public sealed class InvalidStateKeyException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="InvalidStateKeyException"/> class.</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="key">The refused key.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="reason">Why the key is refused.</param>
    public InvalidStateKeyException(string storeName, string? key, string operation, string reason)
        : base($"{Describe(storeName, operation, key ?? "(null)")}: invalid key, {reason}.", storeName, operation, key)
    {
        Reason = reason;
    }

    /// <summary>Gets why the key is refused.</summary>
    public string Reason { get; }
}
