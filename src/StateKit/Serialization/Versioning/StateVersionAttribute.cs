namespace StateKit;

/// <summary>
/// Declares the schema version of a state, session or agent state type: values are stored with it, and a value stored
/// at an older version is brought up to it on read by the upgraders registered with <c>AddStateUpgrades&lt;T&gt;</c>.
/// A type without this attribute is at version 1 (as is every value stored before it had one). A value stored by a
/// newer version than the type declares is refused with <see cref="StateTypeVersionException"/>, never read wrongly.
/// </summary>
/// <param name="version">The current version: 1 or more; raise it by one with each change that old values cannot be read into.</param>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class StateVersionAttribute(int version) : Attribute
{
    /// <summary>Gets the current schema version of the type.</summary>
    public int Version { get; } = version >= 1 ? version : throw new ArgumentOutOfRangeException(nameof(version), version, "A state version is 1 or more.");
}
