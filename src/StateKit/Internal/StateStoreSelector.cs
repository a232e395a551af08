using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace StateKit.Internal;

/// <summary>Finds the factory for <see cref="StateKitStoreOptions.Type"/>: a registered one, or a satellite package found by name.</summary>
internal static class StateStoreSelector
{
    /// <summary>Backends that can be chosen from configuration alone, when their package is referenced.</summary>
    private static readonly Dictionary<string, (string TypeName, string Package)> KnownSatellites = new(StringComparer.OrdinalIgnoreCase)
    {
        ["file"] = ("StateKit.File.Internal.FileStateStoreFactory, StateKit.File", "StateKit.File"),
        ["sqlite"] = ("StateKit.Sqlite.Internal.SqliteStateStoreFactory, StateKit.Sqlite", "StateKit.Sqlite"),
        ["postgres"] = ("StateKit.Postgres.Internal.PostgresStateStoreFactory, StateKit.Postgres", "StateKit.Postgres"),
        ["redis"] = ("StateKit.Redis.Internal.RedisStateStoreFactory, StateKit.Redis", "StateKit.Redis"),
    };

    public static IStateStore Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<StateKitOptions>>().Value;
        var factory = Find(services.GetServices<IStateStoreFactory>(), options.Store.Type, out var problem)
            ?? throw new InvalidOperationException(problem);
        return factory.Create(services, options);
    }

    public static IStateStoreFactory? Find(IEnumerable<IStateStoreFactory> registered, string? storeType, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(storeType))
        {
            problem = "StateKit:Store:Type is empty; use memory, file, sqlite, postgres, redis or the type of a registered IStateStoreFactory.";
            return null;
        }

        var found = registered.LastOrDefault(f => string.Equals(f.StoreType, storeType, StringComparison.OrdinalIgnoreCase));
        if (found is not null)
        {
            return found;
        }

        if (KnownSatellites.TryGetValue(storeType, out var satellite))
        {
            return LoadSatellite(storeType, satellite.TypeName, satellite.Package, out problem);
        }

        problem = $"StateKit:Store:Type '{storeType}' is unknown; use memory, file, sqlite, postgres, redis or the type of a registered IStateStoreFactory.";
        return null;
    }

    /// <summary>Creates a satellite's factory by type name, or explains which package is missing.</summary>
    /// <param name="storeType">The configured store type.</param>
    /// <param name="typeName">The factory's assembly-qualified type name.</param>
    /// <param name="package">The package that holds it.</param>
    /// <param name="problem">What to do when it is missing.</param>
    /// <returns>The factory, or <see langword="null"/>.</returns>
    internal static IStateStoreFactory? LoadSatellite(string storeType, string typeName, string package, out string? problem)
    {
        problem = null;
        var type = System.Type.GetType(typeName, throwOnError: false);
        if (type is not null && Activator.CreateInstance(type, nonPublic: true) is IStateStoreFactory loaded)
        {
            return loaded;
        }

        problem = $"StateKit:Store:Type is '{storeType}', which needs the {package} package: add a reference to it.";
        return null;
    }
}
