namespace StateKit.Internal;

/// <summary>Points every layer and the backend of a pipeline at one set of instruments (one meter per container).</summary>
internal static class StateStoreMetrics
{
    /// <summary>Makes every layer of <paramref name="store"/> report to <paramref name="metrics"/>.</summary>
    /// <param name="store">The outermost store of a pipeline.</param>
    /// <param name="metrics">The container's instruments, or <see cref="StateKitMetrics.Off"/>.</param>
    public static void Bind(IStateStore store, StateKitMetrics metrics)
    {
        foreach (var layer in StateStoreExtensions.PipelineLayers(store))
        {
            switch (layer)
            {
                case FallbackStateStore fallback:
                    fallback.Metrics = metrics;
                    break;
                case WriteBehindStateStore writeBehind:
                    writeBehind.Metrics = metrics;
                    break;
                case SpillingStateStore spilling:
                    spilling.Metrics = metrics;
                    break;
                case IStateStoreBackend backend:
                    backend.Guard.Metrics = metrics;
                    break;
            }
        }
    }
}
