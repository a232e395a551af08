namespace StateKit.Internal;

/// <summary>Where a built-in store keeps its data (endpoints, database and schema, directory), never with a password; found through <see cref="IStateStore.GetService"/> for start-up messages.</summary>
internal interface IStateStoreLocation
{
    /// <summary>Gets the location, for messages.</summary>
    string Location { get; }
}
