using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace StateKit.Internal;

/// <summary>
/// At start-up: builds the default store (so a misconfigured one fails the start, not the first request), logs which
/// store and pipeline every store has (Information), warns when state lives in memory only because nothing chose a store
/// (outside Development), and warns about keys directly under <c>StateKit</c> that no StateKit setting reads (a typo such
/// as <c>StateKit:Stor:Type</c> otherwise silently gives the memory store).
/// </summary>
internal sealed class StateKitStartupReport(IServiceProvider services, IOptions<StateKitOptions> options, ILogger<StateKitStartupReport>? logger = null) : IHostedService
{
    /// <summary>Sections under <c>StateKit</c> that are not properties of <see cref="StateKitOptions"/> but are read by StateKit or its packages.</summary>
    private static readonly string[] OtherSections = ["Stores", "Provider", "Sessions", "Agents", "L1", "WriteBehind", "Encryption"];

    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var marker = services.GetService<StateKitMarker>();
        await ReportAsync(string.Empty, services.GetRequiredService<IStateStore>(), options.Value, cancellationToken).ConfigureAwait(false);
        foreach (var name in marker?.StoreNames ?? [])
        {
            await ReportAsync(name, services.GetRequiredKeyedService<IStateStore>(name), StateStoreSelector.Options(services, name), cancellationToken).ConfigureAwait(false);
        }

        if (!options.Value.Store.TypeChosen && services.GetService<IHostEnvironment>() is { } environment && !environment.IsDevelopment())
        {
            Log.MemoryByDefault(_logger);
        }

        if (marker?.Section(services, string.Empty, string.Empty) is { } section)
        {
            var known = KnownKeys();
            foreach (var child in section.GetChildren().Where(c => !known.Contains(c.Key)))
            {
                Log.UnknownSetting(_logger, (section as IConfigurationSection)?.Path is { Length: > 0 } path ? path + ":" + child.Key : child.Key, string.Join(", ", known.Order(StringComparer.OrdinalIgnoreCase)));
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The layers from the outside in, for the log (<see cref="StateStoreExtensions.DescribePipeline"/>).</summary>
    internal static string Describe(IStateStore store) => store.DescribePipeline();

    private async Task ReportAsync(string name, IStateStore store, StateKitOptions storeOptions, CancellationToken cancellationToken)
    {
        var label = name.Length == 0 ? "(default)" : name;
        Log.StoreChosen(_logger, label, storeOptions.Store.Type, Describe(store));
        if (!storeOptions.CheckOnStart && !options.Value.CheckOnStart)
        {
            return;
        }

        // The health check's round trip: a failure fails the start with the store's own error (backend, cause, endpoint).
        var result = await new StateStoreHealthCheck(store).CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext(), cancellationToken).ConfigureAwait(false);
        if (result.Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy)
        {
            var location = store.GetService(typeof(IStateStoreLocation)) is IStateStoreLocation at ? $" ({at.Location})" : string.Empty;
            throw new InvalidOperationException($"StateKit:CheckOnStart: the {label} store (type {storeOptions.Store.Type}){location} failed its start-up check. {result.Description}{(result.Exception?.InnerException is { } cause ? " Cause: " + cause.Message : string.Empty)}", result.Exception);
        }
    }

    /// <summary>Every key StateKit reads directly under its section: its options' properties, the adapters' options' properties, the other sections.</summary>
    private HashSet<string> KnownKeys()
    {
        var known = new HashSet<string>(OtherSections, StringComparer.OrdinalIgnoreCase);
        var optionTypes = new List<Type> { typeof(StateKitOptions) };
        foreach (var factory in services.GetServices<IStateStoreFactory>().Concat(StateStoreSelector.DeclaredFactories))
        {
            for (var type = factory.GetType(); type is not null; type = type.BaseType)
            {
                if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(StateStoreFactory<>))
                {
                    optionTypes.Add(type.GetGenericArguments()[0]);
                }
            }
        }

        foreach (var type in optionTypes)
        {
            known.UnionWith(type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name));
        }

        return known;
    }
}
