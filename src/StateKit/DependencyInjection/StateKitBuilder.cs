using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace StateKit;

/// <summary>
/// Returned by <c>AddStateKit()</c>, and given to the callback of <c>AddStore(name, …)</c> for a named store; satellites
/// add <c>Use…</c> extension methods on it.
/// </summary>
public sealed class StateKitBuilder
{
    internal StateKitBuilder(IServiceCollection services, string name)
    {
        Services = services;
        Name = name;
    }

    /// <summary>Gets the service collection StateKit is registered in.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Gets the name of the store this builder configures: empty (<see cref="Options.DefaultName"/>) for the default store,
    /// the name given to <c>AddStore</c> for a named one. A satellite's <c>Use…</c> method configures its options under
    /// this name (<c>Services.Configure(builder.Name, configure)</c>), so each store keeps its own settings.
    /// </summary>
    public string Name { get; }

    /// <summary>Gets whether this builder configures a named store (one added with <c>AddStore</c>).</summary>
    internal bool IsNamed => Name.Length != 0;
}
