namespace StateKit.Internal;

/// <summary>
/// Implemented by the built-in backends: the options they enforce (value and key limits, default time to live), so the
/// layers above (write-behind) refuse at the call what the backend would refuse, and apply its defaults.
/// </summary>
internal interface IStateStoreBackend
{
    /// <summary>Gets the backend's argument checks, clock and effective options (value limits, default time to live), and where it reports retries.</summary>
    Adapters.StateStoreGuard Guard { get; }
}

/// <summary>Finds a pipeline's backend options.</summary>
internal static class BackendOptions
{
    /// <summary>The options of the backend under <paramref name="store"/> (through every layer), or <see langword="null"/> when it does not say.</summary>
    /// <param name="store">A store or a layer over one.</param>
    /// <returns>The backend's options, or <see langword="null"/>.</returns>
    public static StateStoreOptions? Of(IStateStore store) => store.GetService<IStateStoreBackend>()?.Guard.Options;
}
