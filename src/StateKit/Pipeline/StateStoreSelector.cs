using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyModel;
using Microsoft.Extensions.Options;

namespace StateKit.Internal;

/// <summary>
/// Finds the factory for <see cref="StateKitStoreOptions.Type"/> (a registered one, or one a referenced package
/// declares with <see cref="StateStoreFactoryAttribute"/>), creates the store and wraps it in the registered decorators.
/// </summary>
internal static class StateStoreSelector
{
    private const string Choices = "use memory, a type declared by a referenced package (file: StateKit.File, sqlite: StateKit.Sqlite, postgres: StateKit.Postgres, redis: StateKit.Redis) or the type of a registered IStateStoreFactory";

    private static readonly Lazy<IReadOnlyList<IStateStoreFactory>> Declared = new(DiscoverDeclaredFactories);

    /// <summary>Gets the factories the application's StateKit packages declare.</summary>
    public static IReadOnlyList<IStateStoreFactory> DeclaredFactories => Declared.Value;

    /// <summary>
    /// Creates a store's pipeline: the default store (<paramref name="name"/> empty, tier routing included) or a named one.
    /// The one place layers are put together: the backend, then every stage of <see cref="StateStoreStage"/> from the
    /// inside out (the built-in ones from the options, the others as registered), then tier routing in front.
    /// </summary>
    public static IStateStore Create(IServiceProvider services, string name)
    {
        var options = Options(services, name);
        var factory = Find(services, options, out var problem) ?? throw new InvalidOperationException(problem);
        var store = factory.Create(services, options);
        var registered = services.GetRequiredService<IOptionsMonitor<StateStorePipelineOptions>>().Get(name).Layers;
        var problems = new List<string>();
        var pipeline = new StateStorePipelineBuilder(store, name, options);
        foreach (var layer in registered.Concat(ConfiguredLayers.Find(services, options, registered, problems)))
        {
            pipeline.Add(layer);
        }

        if (problems.Count > 0)
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw new InvalidOperationException(string.Join(" ", problems));
        }

        if (options.MemoryBudget.MaxResidentBytes > 0)
        {
            pipeline.Add(new StateStoreLayer(StateStoreStage.MemoryBudget, "memory-budget", SpillingStateStore.Layer(options.MemoryBudget, options.SectionPath + ":MemoryBudget")));
        }

        if (name.Length == 0 && options.Fallback.Stores.Count > 0)
        {
            var names = options.Fallback.Stores.ToArray();
            pipeline.Add(new StateStoreLayer(StateStoreStage.Fallback, "fallback", FallbackStateStore.Layer(
                _ => options.Fallback,
                context => names.Select(n => context.Services.GetRequiredKeyedService<IStateStore>(n)).ToArray(),
                ownsFallbacks: false,
                names)));
        }

        if (options.Telemetry)
        {
            pipeline.Add(new StateStoreLayer(StateStoreStage.Telemetry, "telemetry", (inner, context) => new InstrumentedStateStore(inner, context.Services.GetRequiredService<StateKitMetrics>())));
        }

        var wrapped = pipeline.Build(services);
        StateStoreMetrics.Bind(wrapped, options.Telemetry ? services.GetRequiredService<StateKitMetrics>() : StateKitMetrics.Off);
        return name.Length == 0 && options.Tiers.Count > 0 ? TierRoutingStateStore.Create(wrapped, options.Tiers, services) : wrapped;
    }

    /// <summary>A store's options: the default store's are <see cref="IOptions{TOptions}"/>, the ones the rest of StateKit reads.</summary>
    public static StateKitOptions Options(IServiceProvider services, string name) =>
        name.Length == 0
            ? services.GetRequiredService<IOptions<StateKitOptions>>().Value
            : services.GetRequiredService<IOptionsMonitor<StateKitOptions>>().Get(name);

    /// <summary>The factory for the store type of <paramref name="options"/>: the one its <c>UseStore(factory)</c> gave, a registered one, or one a package declares.</summary>
    public static IStateStoreFactory? Find(IServiceProvider services, StateKitOptions options, out string? problem)
    {
        problem = null;
        var storeType = options.Store.Type;
        var path = options.SectionPath + ":Store:Type";
        if (string.IsNullOrWhiteSpace(storeType))
        {
            problem = $"{path} is empty; {Choices}.";
            return null;
        }

        var chosen = services.GetService<IOptionsMonitor<StateStorePipelineOptions>>()?.Get(options.StoreName).Factory;
        var found = (chosen is not null && Serves(chosen, storeType) ? chosen : null)
            ?? services.GetServices<IStateStoreFactory>().LastOrDefault(f => Serves(f, storeType))
            ?? Declared.Value.FirstOrDefault(f => Serves(f, storeType));
        if (found is null)
        {
            problem = $"{path} '{storeType}' is unknown: no registered factory serves it and no referenced package declares it; {Choices}.";
        }

        return found;
    }

    private static bool Serves(IStateStoreFactory factory, string storeType) =>
        string.Equals(factory.StoreType, storeType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Creates the factories that the application's StateKit packages declare.</summary>
    private static IReadOnlyList<IStateStoreFactory> DiscoverDeclaredFactories()
    {
        var factories = new List<IStateStoreFactory>();
        var seen = new HashSet<Type>();
        foreach (var assembly in CandidateAssemblies())
        {
            foreach (var declared in assembly.GetCustomAttributes<StateStoreFactoryAttribute>())
            {
                if (seen.Add(declared.FactoryType) && Activator.CreateInstance(declared.FactoryType, nonPublic: true) is IStateStoreFactory factory)
                {
                    factories.Add(factory);
                }
            }
        }

        return factories;
    }

    /// <summary>The loaded assemblies, and the assemblies of the dependency manifest (<c>.deps.json</c>) that reference StateKit.</summary>
    private static IEnumerable<Assembly> CandidateAssemblies()
    {
        var core = typeof(IStateStore).Assembly.GetName().Name!;
        var loaded = AppDomain.CurrentDomain.GetAssemblies();
        foreach (var assembly in loaded)
        {
            yield return assembly;
        }

        var context = DependencyContext.Default;
        if (context is null)
        {
            yield break;
        }

        var loadedNames = loaded.Select(a => a.GetName().Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var library in context.RuntimeLibraries.Where(l => l.Dependencies.Any(d => string.Equals(d.Name, core, StringComparison.OrdinalIgnoreCase))))
        {
            foreach (var name in library.GetDefaultAssemblyNames(context).Where(n => !loadedNames.Contains(n.Name!)))
            {
                Assembly? assembly;
                try
                {
                    assembly = Assembly.Load(name);
                }
                catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
                {
                    assembly = null;
                }

                if (assembly is not null)
                {
                    yield return assembly;
                }
            }
        }
    }
}
