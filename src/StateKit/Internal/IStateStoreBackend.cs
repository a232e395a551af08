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
