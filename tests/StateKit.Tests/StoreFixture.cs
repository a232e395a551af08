using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Testing;
using StateKit.Tests.Provider;

namespace StateKit.Tests;

/// <summary>
/// A fresh store of one kind per test (see <see cref="TestStores"/>) with a manual clock, and DI containers over
/// it that are disposed after the test; the store outlives the containers.
/// </summary>
/// <param name="kind">The store kind.</param>
public abstract class StoreFixture(string kind)
{
    private readonly List<ServiceProvider> _containers = [];
    private Func<Task> _cleanup = () => Task.CompletedTask;

    protected ManualTimeProvider Time { get; private set; } = null!;

    protected IStateStore Store { get; private set; } = null!;

    [SetUp]
    public void CreateStore()
    {
        Time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        Store = TestStores.Create(kind, Time, out _cleanup, ConfigureStore);
    }

    /// <summary>Changes the options of the fixture's store; none by default.</summary>
    /// <param name="options">The options.</param>
    protected virtual void ConfigureStore(StateStoreOptions options)
    {
    }

    [TearDown]
    public async Task DisposeStoreAsync()
    {
        foreach (var container in _containers)
        {
            await container.DisposeAsync();
        }

        _containers.Clear();
        if (Store is not null)
        {
            // Null when SetUp stopped because a server is missing (ignored outside CI): nothing to dispose.
            await Store.DisposeAsync();
            await _cleanup();
        }
    }

    /// <summary>A container with <c>AddStateKit()</c> on <paramref name="store"/> (the fixture's store by default) and the manual clock.</summary>
    /// <param name="register">Adds the test's own registrations to the builder.</param>
    /// <param name="store">The store to use instead of the fixture's.</param>
    /// <returns>The container.</returns>
    protected ServiceProvider Container(Action<StateKitBuilder>? register = null, IStateStore? store = null)
    {
        var services = new ServiceCollection();
        var target = store ?? Store;
        services.AddSingleton<TimeProvider>(Time);
        var builder = services.AddStateKit().UseStore(_ => new NonDisposingStore(target));
        register?.Invoke(builder);
        var container = services.BuildServiceProvider();
        _containers.Add(container);
        return container;
    }
}
