namespace StateKit.Internal;

/// <summary>
/// The decorators of a store pipeline, in the order they were added (<c>builder.Decorate(…)</c>). Kept as options so
/// that a named store can later get its own pipeline (named options) without a new mechanism.
/// </summary>
internal sealed class StateStorePipelineOptions
{
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
