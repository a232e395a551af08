using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Internal;

/// <summary>Creates the in-memory store for <c>StateKit:Store:Type = memory</c>.</summary>
internal sealed class MemoryStateStoreFactory : IStateStoreFactory
{
    public const string Type = "memory";

    public string StoreType => Type;

    public IEnumerable<string> Validate(IServiceProvider services, StateKitOptions options) => [];

    public IStateStore Create(IServiceProvider services, StateKitOptions options) =>
        new MemoryStateStore(options, services.GetService<TimeProvider>());
}
