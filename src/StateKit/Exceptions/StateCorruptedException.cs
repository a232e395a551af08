namespace StateKit;

/// <summary>Stored bytes are damaged or foreign (bad checksum, truncated record, unknown format).</summary>
public sealed class StateCorruptedException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateCorruptedException"/> class.</summary>
    /// <param name="storeName">The store (or serializer) that found the damage.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="key">The key, if known.</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="location">Where the damaged bytes are (a file path, a row), if known.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public StateCorruptedException(string storeName, string operation, string? key, string detail, string? location = null, Exception? innerException = null)
        : base($"{Describe(storeName, operation, key)}: corrupt data{(location is null ? string.Empty : $" in '{location}'")}, {detail}", storeName, operation, key, innerException)
    {
        Location = location;
    }

    /// <summary>Gets where the damaged bytes are (a file path, a row), if known.</summary>
    public string? Location { get; }
}
