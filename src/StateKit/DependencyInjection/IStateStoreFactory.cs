namespace StateKit;

/// <summary>Creates the <see cref="IStateStore"/> of one backend type; registered by each satellite package.</summary>
public interface IStateStoreFactory
{
    /// <summary>Gets the backend type this factory serves, matched case-insensitively against <see cref="StateKitStoreOptions.Type"/>.</summary>
    string StoreType { get; }

    /// <summary>Returns the problems of <paramref name="options"/> for this backend, empty when they are usable.</summary>
    /// <param name="options">The StateKit options.</param>
    /// <returns>The problems, each naming the option path.</returns>
    IEnumerable<string> Validate(StateKitOptions options);

    /// <summary>Creates the store.</summary>
    /// <param name="services">The service provider, for the clock, loggers and shared connections.</param>
    /// <param name="options">The validated StateKit options.</param>
    /// <returns>The store; disposed by the container.</returns>
    IStateStore Create(IServiceProvider services, StateKitOptions options);
}
