namespace StateKit;

/// <summary>
/// Creates the <see cref="IStateStore"/> of one backend type. A package declares its factory with
/// <see cref="StateStoreFactoryAttribute"/> (so <c>StateKit:Store:Type</c> can name it from configuration alone) and
/// registers it when its <c>Use…</c> method is called.
/// </summary>
public interface IStateStoreFactory
{
    /// <summary>Gets the backend type this factory serves, matched case-insensitively against <see cref="StateKitStoreOptions.Type"/>.</summary>
    string StoreType { get; }

    /// <summary>
    /// Returns the problems of the options for this backend, empty when they are usable: called at start-up with the
    /// validation of <see cref="StateKitOptions"/>, so the adapter's own options (see
    /// <see cref="StateKitOptions.CreateStoreOptions{TStoreOptions}"/> and <see cref="StateStoreOptions.Validate"/>)
    /// fail the start like the core's.
    /// </summary>
    /// <param name="services">The service provider, to read the adapter's options.</param>
    /// <param name="options">The StateKit options.</param>
    /// <returns>The problems, each naming the option path.</returns>
    IEnumerable<string> Validate(IServiceProvider services, StateKitOptions options);

    /// <summary>Creates the store.</summary>
    /// <param name="services">The service provider, for the clock, loggers and shared connections.</param>
    /// <param name="options">The validated StateKit options.</param>
    /// <returns>The store; disposed by the container.</returns>
    IStateStore Create(IServiceProvider services, StateKitOptions options);
}
