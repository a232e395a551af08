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

    /// <summary>
    /// Wraps <paramref name="store"/> in <paramref name="layers"/> in stage order: the innermost stage first, and within
    /// a stage the layer added last first, so the one added first ends up outermost. Disposes everything on failure.
    /// </summary>
    /// <param name="store">The backend (or what the inner stages made of it).</param>
    /// <param name="layers">The layers of every stage.</param>
    /// <param name="services">The container.</param>
    /// <returns>The outermost layer.</returns>
    public static IStateStore Wrap(IStateStore store, IEnumerable<StateStoreLayer> layers, IServiceProvider services)
    {
        var ordered = layers.Select((layer, index) => (layer, index)).OrderByDescending(l => l.layer.Stage).ThenByDescending(l => l.index).Select(l => l.layer);
        try
        {
            foreach (var layer in ordered)
            {
                store = layer.Create(store, services) ?? throw new InvalidOperationException($"The layer '{layer.Name}' ({layer.Stage}) returned null.");
            }

            return store;
        }
        catch
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }
}

/// <summary>One registered layer.</summary>
/// <param name="Stage">Its stage.</param>
/// <param name="Name">Its name, for errors.</param>
/// <param name="Create">Creates it around the store below it (it then owns that store).</param>
internal sealed record StateStoreLayer(StateStoreStage Stage, string Name, Func<IStateStore, IServiceProvider, IStateStore> Create);
