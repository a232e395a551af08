using Microsoft.Extensions.DependencyInjection.Extensions;
using StateKit;
using StateKit.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Backend selection and the store pipeline on a <see cref="StateKitBuilder"/>.</summary>
/// <remarks>
/// <para>
/// The store pipeline is built once, when <see cref="IStateStore"/> is first resolved: the chosen backend's factory
/// (from a <c>Use…</c> call or <c>StateKit:Store:Type</c>) creates the store, then each decorator added with
/// <see cref="Decorate(StateKitBuilder, Func{IStateStore, IServiceProvider, IStateStore})"/> wraps it, in the order added.
/// The first decorator added sits next to the store; the last added is the outermost, the one callers reach first.
/// Where <c>Use…</c> and <c>Decorate</c> calls come in the chain does not matter.
/// </para>
/// </remarks>
public static class StateKitBuilderExtensions
{
    /// <summary>Uses the in-memory store (the default): fast, process-local, lost on restart.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseMemory(this StateKitBuilder builder) => builder.UseStoreType(MemoryStateStoreFactory.Type);

    /// <summary>Registers a backend factory and selects it; satellites (<c>UseFileSystem</c>, …) call this.</summary>
    /// <typeparam name="TFactory">The factory type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="storeType">The backend type the factory serves (its <see cref="IStateStoreFactory.StoreType"/>).</param>
    /// <param name="configure">Configures the options for this backend, after any configuration binding.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseStore<TFactory>(this StateKitBuilder builder, string storeType, Action<StateKitOptions>? configure = null)
        where TFactory : class, IStateStoreFactory
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IStateStoreFactory, TFactory>());
        builder.UseStoreType(storeType);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder;
    }

    /// <summary>
    /// Selects a satellite store by its factory with a connection string, and registers the adapter's own settings;
    /// the common body of <c>UseSqlite</c>, <c>UsePostgres</c> and <c>UseRedis</c>.
    /// </summary>
    /// <typeparam name="TFactory">The adapter's factory.</typeparam>
    /// <typeparam name="TStoreOptions">The adapter's options type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="storeType">The store type the factory answers to.</param>
    /// <param name="connectionString">The connection string (or path, or configuration string); never logged.</param>
    /// <param name="configure">Optional adapter settings.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseStore<TFactory, TStoreOptions>(this StateKitBuilder builder, string storeType, string connectionString, Action<TStoreOptions>? configure)
        where TFactory : class, IStateStoreFactory
        where TStoreOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder.UseStore<TFactory>(storeType, o => o.Store.ConnectionString = connectionString);
    }

    /// <summary>Registers a factory instance and selects the backend type it serves (for a factory with its own settings).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">The factory; it wins over any earlier factory of the same type.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseStore(this StateKitBuilder builder, IStateStoreFactory factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.AddSingleton(factory);
        return builder.UseStoreType(factory.StoreType);
    }

    /// <summary>
    /// Wraps the chosen store, whichever it is, in a decorator (normally a <see cref="DelegatingStateStore"/>). Decorators
    /// wrap in the order added: the first wraps the store, the last added is the outermost.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="decorator">Creates the decorator around the store it is given (the decorator owns and disposes that store).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder Decorate(this StateKitBuilder builder, Func<IStateStore, IServiceProvider, IStateStore> decorator)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(decorator);
        builder.Services.Configure<StateStorePipelineOptions>(o => o.Decorators.Add(decorator));
        return builder;
    }

    /// <summary>
    /// Puts an in-process tier (<see cref="L1StateStore"/>) in front of the chosen store: repeated reads are answered from
    /// memory, changes reported by the store's change feed remove entries at once, and every entry is held at most
    /// <see cref="L1StateStoreOptions.Lifetime"/>. Options are bound from <c>StateKit:L1</c> when the container has an
    /// <see cref="Microsoft.Extensions.Configuration.IConfiguration"/>, then from <paramref name="configure"/>, and validated at start-up.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Bounds and lifetime.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseL1(this StateKitBuilder builder, Action<L1StateStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<L1StateStoreOptions>()
            .Configure<IServiceProvider>((o, sp) =>
            {
                if (sp.GetService<Microsoft.Extensions.Configuration.IConfiguration>() is { } configuration)
                {
                    Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(configuration.GetSection(StateKitOptions.SectionName + ":L1"), o);
                }
            })
            .ValidateDataAnnotations()
            .Validate(o => o.Lifetime > TimeSpan.Zero, "L1 Lifetime must be positive.")
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder.Decorate((store, services) => new L1StateStore(
            store,
            services.GetRequiredService<Microsoft.Extensions.Options.IOptions<L1StateStoreOptions>>().Value,
            services.GetService<TimeProvider>()));
    }

    /// <summary>
    /// Wraps the chosen store in a <typeparamref name="TDecorator"/>, created with its constructor's services from the
    /// container and the store as its <see cref="IStateStore"/> argument. Same order rules as
    /// <see cref="Decorate(StateKitBuilder, Func{IStateStore, IServiceProvider, IStateStore})"/>.
    /// </summary>
    /// <typeparam name="TDecorator">The decorator type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder Decorate<TDecorator>(this StateKitBuilder builder)
        where TDecorator : class, IStateStore
        => builder.Decorate((store, services) => ActivatorUtilities.CreateInstance<TDecorator>(services, store));

    /// <summary>Uses a store created by <paramref name="factory"/> (for example a user's own adapter or a decorated stack).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the store; it is disposed by the container.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseStore(this StateKitBuilder builder, Func<IServiceProvider, IStateStore> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.AddSingleton<IStateStoreFactory>(new DelegateStateStoreFactory(factory));
        return builder.UseStoreType(DelegateStateStoreFactory.Type);
    }

    private static StateKitBuilder UseStoreType(this StateKitBuilder builder, string storeType)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(storeType);
        builder.Services.PostConfigure<StateKitOptions>(o => o.Store.Type = storeType);
        return builder;
    }
}
