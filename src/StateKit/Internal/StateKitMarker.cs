using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Internal;

/// <summary>
/// Registered once by <c>AddStateKit()</c> so a second call registers nothing new; it also remembers the named stores
/// (<c>AddStore</c>) and the configuration section <c>AddStateKit(configuration)</c> was given.
/// </summary>
internal sealed class StateKitMarker
{
    private readonly Dictionary<string, StateKitBuilder> _stores = new(StringComparer.Ordinal);

    public StateKitMarker(IServiceCollection services) => Builder = new StateKitBuilder(services, string.Empty);

    public StateKitBuilder Builder { get; }

    /// <summary>Gets or sets the section given to <c>AddStateKit(configuration)</c>; <see langword="null"/> when none was.</summary>
    public IConfiguration? Configuration { get; set; }

    /// <summary>Gets the names of the stores added with <c>AddStore</c>.</summary>
    public IReadOnlyCollection<string> StoreNames => _stores.Keys;

    /// <summary>Gets the builder of a named store, and whether it was created by this call.</summary>
    public StateKitBuilder Store(string name, out bool added)
    {
        added = !_stores.TryGetValue(name, out var builder);
        if (added)
        {
            builder = new StateKitBuilder(Builder.Services, name);
            _stores.Add(name, builder);
        }

        return builder!;
    }

    /// <summary>
    /// The configuration section of a store's part (<paramref name="child"/>, empty for the store's own settings): under
    /// the section given to <c>AddStateKit(configuration)</c>, else under <c>StateKit</c> of the container's configuration;
    /// a named store's under <c>Stores:{name}</c>. <see langword="null"/> when there is no configuration.
    /// </summary>
    public IConfiguration? Section(IServiceProvider services, string storeName, string child)
    {
        var root = Configuration ?? services.GetService<IConfiguration>()?.GetSection(StateKitOptions.SectionName);
        if (root is null)
        {
            return null;
        }

        var path = storeName.Length == 0 ? child : child.Length == 0 ? "Stores:" + storeName : "Stores:" + storeName + ":" + child;
        return path.Length == 0 ? root : root.GetSection(path);
    }
}
