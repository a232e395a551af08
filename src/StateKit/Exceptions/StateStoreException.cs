using StateKit.Adapters;

namespace StateKit;

/// <summary>The base of every error a StateKit store raises; names the store, the operation and the key.</summary>
public class StateStoreException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="StateStoreException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="storeName">The store that failed.</param>
    /// <param name="operation">The operation that failed.</param>
    /// <param name="key">The key involved, if any.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public StateStoreException(string message, string storeName, string operation, string? key = null, Exception? innerException = null)
        : base(message, innerException)
    {
        StoreName = storeName;
        Operation = operation;
        Key = key;
    }

    /// <summary>Gets the name of the store that raised the error.</summary>
    public string StoreName { get; }

    /// <summary>Gets the operation that failed (for example <c>Set</c>).</summary>
    public string Operation { get; }

    /// <summary>Gets the key involved, or <see langword="null"/> when the error concerns no single key.</summary>
    public string? Key { get; }

    /// <summary>Builds the common start of a message: "The 'file' store failed Set of key 'a'".</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="key">The key, if any.</param>
    /// <returns>The message start.</returns>
    protected static string Describe(string storeName, string operation, string? key) =>
        key is null
            ? $"The '{storeName}' store failed {operation}"
            : $"The '{storeName}' store failed {operation} of key '{StateKeys.Printable(key)}'";
}
