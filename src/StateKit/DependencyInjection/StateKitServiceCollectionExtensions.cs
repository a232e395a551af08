using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StateKit;
using StateKit.Internal;
using StateKit.Serialization;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers StateKit in an <see cref="IServiceCollection"/>.</summary>
public static class StateKitServiceCollectionExtensions
{
    /// <summary>
    /// Registers StateKit: options (validated at start-up and on first resolve), the value codec, the expiry
    /// purge service and an <see cref="IStateStore"/> — the in-memory store unless another is chosen.
    /// Calling it again registers nothing new and returns the same builder.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder, to chain <c>Use…</c> calls.</returns>
    public static StateKitBuilder AddStateKit(this IServiceCollection services, Action<StateKitOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = Register(services);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        return builder;
    }

    /// <summary>Registers StateKit with options bound from a configuration section (normally <c>StateKit</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section to bind, for example <c>configuration.GetSection("StateKit")</c>.</param>
    /// <param name="configure">Configures the options after binding.</param>
    /// <returns>The builder, to chain <c>Use…</c> calls.</returns>
    public static StateKitBuilder AddStateKit(this IServiceCollection services, IConfiguration configuration, Action<StateKitOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = Register(services);
        Marker(services).Configuration = configuration;
        services.AddOptions<StateKitOptions>().Bind(configuration);
        services.AddOptions<StateProviderOptions>().Bind(configuration.GetSection("Provider"));
        foreach (var store in configuration.GetSection("Stores").GetChildren())
        {
            builder.AddStore(store.Key, _ => { });
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        return builder;
    }

    /// <summary>The marker <c>AddStateKit()</c> registered.</summary>
    internal static StateKitMarker Marker(IServiceCollection services) =>
        FindMarker(services) ?? throw new InvalidOperationException("Call services.AddStateKit() first.");

    private static StateKitMarker? FindMarker(IServiceCollection services)
    {
        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == typeof(StateKitMarker) && descriptor.ImplementationInstance is StateKitMarker existing)
            {
                return existing;
            }
        }

        return null;
    }

    /// <summary>The app's <c>StateKit</c> section when <c>AddStateKit()</c> was given none of its own (that one is bound where it is given).</summary>
    private static IConfigurationSection? AppSection(StateKitMarker marker, IServiceProvider services) =>
        marker.Configuration is null && services.GetService<IConfiguration>()?.GetSection(StateKitOptions.SectionName) is { } section && section.Exists() ? section : null;

    private static StateKitBuilder Register(IServiceCollection services)
    {
        if (FindMarker(services) is { } existing)
        {
            return existing.Builder;
        }

        var marker = new StateKitMarker(services);
        var builder = marker.Builder;
        services.AddSingleton(marker);
        // Without a section given to AddStateKit(configuration), the app's own configuration (StateKit, as the named
        // stores, L1 and sessions already read it) still applies: settings, command line and environment reach
        // AddStateKit() too. Code (the configure callbacks, Use… calls) comes after and wins.
        services.AddOptions<StateKitOptions>()
            .Configure<IServiceProvider>((o, sp) => AppSection(marker, sp)?.Bind(o))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StateKitOptions>, StateKitOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStateStoreFactory, MemoryStateStoreFactory>());
        services.TryAddSingleton<IStateStore>(sp => StateStoreSelector.Create(sp, string.Empty));
        services.TryAddSingleton(sp => new StateKitMetrics(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<IStateSerializer>(_ => new JsonStateSerializer());
        services.TryAddSingleton(sp => CreateCodec(sp));
        services.TryAddSingleton<IStateEventStreams>(sp => new StateEventStreams(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<StateValueCodec>()));
        services.TryAddSingleton<IStateLeaseManager>(sp => new StateLeaseManager(sp.GetRequiredService<IStateStore>(), sp.GetService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StateKitStartupReport>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StateKitPurgeService>());
        services.AddOptions<StateProviderOptions>()
            .Configure<IServiceProvider>((o, sp) => AppSection(marker, sp)?.GetSection("Provider").Bind(o))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<IStateProvider>(sp => new StateProvider(
            sp.GetRequiredService<IStateStore>(),
            sp.GetRequiredService<StateValueCodec>(),
            sp.GetRequiredService<IOptions<StateProviderOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp));
        return builder;
    }

    /// <summary>The codec, with the upgraders of <c>AddStateUpgrades</c>; JSON upgrade steps need the JSON serializer.</summary>
    private static StateValueCodec CreateCodec(IServiceProvider services)
    {
        var serializer = services.GetRequiredService<IStateSerializer>();
        var upgrades = services.GetService<StateUpgrades>();
        if (upgrades is { HasJsonSteps: true } && serializer is not JsonStateSerializer)
        {
            throw new InvalidOperationException($"AddStateUpgrades has JSON document steps (FromJson), but the serializer is {serializer.GetType().Name}; use typed steps (From<TOld, TNext>) with it.");
        }

        return new StateValueCodec(serializer, services.GetRequiredService<IOptions<StateKitOptions>>().Value.Envelope) { Upgrades = upgrades };
    }
}
