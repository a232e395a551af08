namespace StateKit;

/// <summary>
/// A value is encrypted with a key the key ring does not have (a key removed too early, or an instance configured with
/// another ring). The message names the key id, never key material. Nothing was changed.
/// </summary>
public sealed class StateEncryptionKeyNotFoundException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateEncryptionKeyNotFoundException"/> class.</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="key">The state key whose value could not be decrypted.</param>
    /// <param name="keyId">The id of the missing encryption key.</param>
    public StateEncryptionKeyNotFoundException(string storeName, string operation, string key, string keyId)
        : base($"{Describe(storeName, operation, key)}: the value is encrypted with key '{keyId}', which the key ring does not have. Add the key back (as a retired key) to read it.", storeName, operation, key)
    {
        KeyId = keyId;
    }

    /// <summary>Gets the id of the missing encryption key.</summary>
    public string KeyId { get; }
}
