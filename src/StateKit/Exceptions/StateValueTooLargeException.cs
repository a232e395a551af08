namespace StateKit;

/// <summary>A value is larger than the configured maximum; nothing was written.</summary>
public sealed class StateValueTooLargeException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateValueTooLargeException"/> class.</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="key">The key.</param>
    /// <param name="size">The size of the refused value, in bytes.</param>
    /// <param name="maxSize">The configured maximum, in bytes.</param>
    public StateValueTooLargeException(string storeName, string operation, string key, long size, long maxSize)
        : base($"{Describe(storeName, operation, key)}: the value is {size:N0} bytes and the limit is {maxSize:N0} bytes (StateStoreOptions.MaxValueBytes). Nothing was written.", storeName, operation, key)
    {
        Size = size;
        MaxSize = maxSize;
    }

    /// <summary>Gets the size of the refused value, in bytes.</summary>
    public long Size { get; }

    /// <summary>Gets the configured maximum, in bytes.</summary>
    public long MaxSize { get; }
}
