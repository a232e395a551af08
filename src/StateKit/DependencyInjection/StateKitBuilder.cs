using Microsoft.Extensions.DependencyInjection;

namespace StateKit;

/// <summary>Returned by <c>AddStateKit()</c>; satellites add <c>Use…</c> extension methods on it.</summary>
public sealed class StateKitBuilder
{
    internal StateKitBuilder(IServiceCollection services) => Services = services;

    /// <summary>Gets the service collection StateKit is registered in.</summary>
    public IServiceCollection Services { get; }
}
