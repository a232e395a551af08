namespace StateKit.Internal;

/// <summary>
/// A store's pipeline: the factory instance a <c>UseStore(factory)</c> call chose, and the decorators in the order they
/// were added (<c>builder.Decorate(…)</c>). Named options: each named store (<c>AddStore</c>) has its own.
/// </summary>
internal sealed class StateStorePipelineOptions
{
    /// <summary>Gets or sets the factory given to <c>UseStore(factory)</c>; preferred when it serves the configured type.</summary>
    public IStateStoreFactory? Factory { get; set; }

    public List<Func<IStateStore, IServiceProvider, IStateStore>> Decorators { get; } = [];

    /// <summary>Wraps <paramref name="store"/>: the first decorator added wraps it, each next one the result; disposes everything on failure.</summary>
    public IStateStore Wrap(IStateStore store, IServiceProvider services)
    {
        try
        {
            foreach (var decorate in Decorators)
            {
                store = decorate(store, services) ?? throw new InvalidOperationException("A decorator given to StateKitBuilder.Decorate returned null.");
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
