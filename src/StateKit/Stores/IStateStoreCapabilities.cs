namespace StateKit;

/// <summary>
/// Implemented by a store that declares <see cref="StateStoreCapabilities"/>. A capability is a separate interface so
/// that the store contract does not grow: a store that does not implement it declares
/// <see cref="StateStoreCapabilities.None"/> (see <see cref="StateStoreExtensions.GetCapabilities"/>).
/// </summary>
public interface IStateStoreCapabilities
{
    /// <summary>Gets what this store guarantees beyond the common contract.</summary>
    StateStoreCapabilities Capabilities { get; }
}
