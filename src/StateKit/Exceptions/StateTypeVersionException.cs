namespace StateKit;

/// <summary>
/// A stored value's schema version cannot be read as the requested type: it was written by a newer version of the type
/// (<see cref="StateVersionAttribute"/>) than this application knows, or no upgrader leads from its version to the
/// current one. Nothing was changed; the stored value is intact.
/// </summary>
public sealed class StateTypeVersionException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateTypeVersionException"/> class.</summary>
    /// <param name="key">The state key.</param>
    /// <param name="typeName">The type asked for.</param>
    /// <param name="storedVersion">The schema version the value was stored with.</param>
    /// <param name="currentVersion">The type's current schema version.</param>
    /// <param name="detail">Why it cannot be read.</param>
    /// <param name="innerException">The upgrader's exception, if one failed.</param>
    public StateTypeVersionException(string? key, string typeName, int storedVersion, int currentVersion, string detail, Exception? innerException = null)
        : base($"{Describe("serializer", "decode", key)}: the value has {typeName} schema version {storedVersion} and this application's {typeName} is version {currentVersion}; {detail}. Nothing was changed.", "serializer", "decode", key, innerException)
    {
        TypeName = typeName;
        StoredVersion = storedVersion;
        CurrentVersion = currentVersion;
    }

    /// <summary>Gets the type asked for.</summary>
    public string TypeName { get; }

    /// <summary>Gets the schema version the value was stored with.</summary>
    public int StoredVersion { get; }

    /// <summary>Gets the type's current schema version.</summary>
    public int CurrentVersion { get; }
}
