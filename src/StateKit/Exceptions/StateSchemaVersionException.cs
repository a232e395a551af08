namespace StateKit;

/// <summary>
/// The database holds a StateKit schema this version of StateKit cannot use: it was created or migrated by a
/// newer StateKit. Nothing was changed; upgrade the StateKit packages of this application.
/// </summary>
public sealed class StateSchemaVersionException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateSchemaVersionException"/> class.</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="location">The schema or database, without secrets.</param>
    /// <param name="foundVersion">The schema version in the database.</param>
    /// <param name="supportedVersion">The newest schema version this StateKit knows.</param>
    public StateSchemaVersionException(string storeName, string location, int foundVersion, int supportedVersion)
        : base(
            $"{Describe(storeName, "schema check", null)}: '{location}' has StateKit schema version {foundVersion}, newer than version {supportedVersion} that this StateKit understands. It was written by a newer StateKit; upgrade the StateKit packages. Nothing was changed.",
            storeName,
            "schema check")
    {
        Location = location;
        FoundVersion = foundVersion;
        SupportedVersion = supportedVersion;
    }

    /// <summary>Gets the schema or database that was refused.</summary>
    public string Location { get; }

    /// <summary>Gets the schema version found in the database.</summary>
    public int FoundVersion { get; }

    /// <summary>Gets the newest schema version this StateKit understands.</summary>
    public int SupportedVersion { get; }
}
