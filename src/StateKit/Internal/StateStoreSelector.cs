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
            var type = System.Type.GetType(satellite.TypeName, throwOnError: false);
            if (type is not null && Activator.CreateInstance(type, nonPublic: true) is IStateStoreFactory loaded)
            {
                return loaded;
            }

            problem = $"StateKit:Store:Type is '{storeType}', which needs the {satellite.Package} package: add a reference to it.";
            return null;
        }

        problem = $"StateKit:Store:Type '{storeType}' is unknown; use memory, file, sqlite, postgres, redis or the type of a registered IStateStoreFactory.";
        return null;
    }
}
