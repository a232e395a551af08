using Microsoft.Extensions.Logging;

namespace StateKit;

/// <summary>
/// What a layer is given when its pipeline is built (see <see cref="StateStorePipelineBuilder.Use"/> and
/// <c>AddLayer</c>): the store it belongs to, the options its backend enforces, the clock, logging and services.
/// </summary>
public sealed class StateStoreLayerContext
{
    internal StateStoreLayerContext(string storeName, StateStoreOptions backendOptions, TimeProvider timeProvider, ILoggerFactory loggerFactory, IServiceProvider services)
    {
        StoreName = storeName;
        BackendOptions = backendOptions;
        TimeProvider = timeProvider;
        LoggerFactory = loggerFactory;
        Services = services;
    }

    /// <summary>Gets the store's name: the one given to <c>AddStore</c>, empty for the default store and for a pipeline built without a container.</summary>
    public string StoreName { get; }

    /// <summary>
    /// Gets the options the backend enforces (value and key limits, default time to live): a layer that accepts writes
    /// itself (write-behind) refuses at the call what the backend would refuse and applies its defaults. For a backend
    /// that does not say (a store of your own), the store's configured options, or the defaults without a container.
    /// </summary>
    public StateStoreOptions BackendOptions { get; }

    /// <summary>
    /// Gets the clock: the backend's (so the layers' expiry agrees with the store's) when it is a built-in store, else
    /// the services' <see cref="System.TimeProvider"/>, else <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>Gets the logger factory: the container's, or one that logs nothing.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Gets the services: the container's, or an empty provider for a pipeline built without one.</summary>
    public IServiceProvider Services { get; }

    /// <summary>Creates a logger of category <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The category.</typeparam>
    /// <returns>The logger.</returns>
    public ILogger<T> CreateLogger<T>() => new Logger<T>(LoggerFactory);
}
