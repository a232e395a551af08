namespace StateKit;

/// <summary>
/// The settings of encryption at rest (<c>UseEncryption</c>; bound from <c>StateKit:Encryption</c>, a named store's from
/// <c>StateKit:Stores:{name}:Encryption</c>). Its state is <see cref="IStateEncryptionStatus"/>.
/// </summary>
public sealed class StateEncryptionOptions
{
    /// <summary>Gets or sets whether configuration alone adds the layer (<c>StateKit:Encryption:Enabled</c>).</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool Enabled { get; set; }

    /// <summary>
    /// Gets or sets the key ring, set in code (for example by <c>UseDataProtectionEncryption</c>); when set,
    /// <see cref="CurrentKeyId"/> and <see cref="Keys"/> are not used.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: the ring of <see cref="Keys"/>.</value>
    public IStateEncryptionKeyRing? KeyRing { get; set; }

    /// <summary>
    /// Gets or sets the id of the key new writes use, one of <see cref="Keys"/>. Not used when <see cref="KeyRing"/> is set.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? CurrentKeyId { get; set; }

    /// <summary>
    /// Gets the keys by id: base64 of 32 random bytes each (<c>openssl rand -base64 32</c>). Keep retired keys here until a
    /// rewrap has moved every value off them. Not used when <see cref="KeyRing"/> is set. Keep them out of source control
    /// (user secrets, environment variables, a vault).
    /// </summary>
    public IDictionary<string, string> Keys { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Gets or sets whether values stored before encryption was turned on (not encrypted) are still read, as they are.
    /// Turn it on while <see cref="IStateEncryptionStatus.RewrapAsync"/> encrypts an existing store, and off after: while
    /// it is on, anyone who can write to the database can plant an unencrypted value that is accepted.
    /// </summary>
    /// <value>The default value is <see langword="false"/>: an unencrypted value is <see cref="StateCorruptedException"/>.</value>
    public bool ReadUnencrypted { get; set; }
}
