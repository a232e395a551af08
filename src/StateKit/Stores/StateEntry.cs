namespace StateKit;

/// <summary>One stored entry: its key, value bytes, version and expiry.</summary>
public sealed class StateEntry
{
    /// <summary>Initializes a new instance of the <see cref="StateEntry"/> class.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value bytes.</param>
    /// <param name="version">The version (1 or more).</param>
    /// <param name="expiresAt">When the entry expires, or <see langword="null"/> when it never does.</param>
    public StateEntry(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        Key = key;
        Value = value;
        Version = version;
        ExpiresAt = expiresAt;
    }

    /// <summary>Gets the key, without the store's key prefix.</summary>
    public string Key { get; }

    /// <summary>Gets the value bytes. Callers must not change them.</summary>
    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>Gets the version: 1 when created, +1 on every write.</summary>
    public long Version { get; }

    /// <summary>Gets when the entry expires, or <see langword="null"/> when it never does.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>
    /// The provider's decoded value of this entry (a <c>StateValue&lt;T&gt;</c> of an immutable type), kept on the entry an
    /// L1 tier hands out again so a repeated read does no decode; see the provider's typed fast path.
    /// </summary>
    internal object? Decoded;
}
