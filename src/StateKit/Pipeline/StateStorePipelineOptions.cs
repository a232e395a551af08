namespace StateKit.Internal;

/// <summary>
/// A store's pipeline as registered: the factory instance a <c>UseStore(factory)</c> call chose, and the layers with
/// their stage, in the order they were added. Named options: each named store (<c>AddStore</c>) has its own.
/// </summary>
internal sealed class StateStorePipelineOptions
{
    /// <summary>Gets or sets the factory given to <c>UseStore(factory)</c>; preferred when it serves the configured type.</summary>
    public IStateStoreFactory? Factory { get; set; }

    /// <summary>Gets the layers, in the order added.</summary>
    public List<StateStoreLayer> Layers { get; } = [];
}
