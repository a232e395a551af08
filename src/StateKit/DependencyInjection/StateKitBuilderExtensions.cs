using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StateKit;
using StateKit.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Backend selection and the store pipeline on a <see cref="StateKitBuilder"/>.</summary>
/// <remarks>
/// <para>
/// The store pipeline is built once, when <see cref="IStateStore"/> is first resolved: the chosen backend's factory
/// (from a <c>Use…</c> call or <c>StateKit:Store:Type</c>) creates the store, then every layer wraps it in the fixed
/// stage order of <see cref="StateStoreStage"/> (outer to inner: telemetry, cache, custom, write-behind, fallback,
/// memory budget, backend). Every layer enters through <see cref="AddLayer"/>; <c>UseL1</c>, <c>UseWriteBehind</c>,
/// <c>Decorate</c> and the others are short forms of it. Within a stage the layer added first is the outermost. Where the
/// calls come in the chain does not matter; <see cref="StateStoreExtensions.DescribePipeline"/> shows what was built.
/// </para>
/// </remarks>
public static partial class StateKitBuilderExtensions
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
            builder.Services.Configure(builder.Name, configure);
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
            builder.Services.Configure(builder.Name, configure);
        }

        return builder.UseStore<TFactory>(storeType, o => o.Store.ConnectionString = connectionString);
    }

    /// <summary>Registers a factory instance and selects the backend type it serves (for a factory with its own settings).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">The factory; it creates this builder's store (the default or a named one) and no other.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseStore(this StateKitBuilder builder, IStateStoreFactory factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.Configure<StateStorePipelineOptions>(builder.Name, o => o.Factory = factory);
        return builder.UseStoreType(factory.StoreType);
    }

    /// <summary>
    /// Adds a layer to the store's pipeline at <paramref name="stage"/>; the one door every layer, built-in or yours,
    /// enters through. Stages wrap in the fixed order of <see cref="StateStoreStage"/>; within a stage the layer added
    /// first is the outermost.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="stage">Where the layer sits.</param>
    /// <param name="name">A name for errors and descriptions.</param>
    /// <param name="layer">
    /// Creates the layer around the store below it (the layer owns and disposes that store), given the
    /// <see cref="StateStoreLayerContext"/>: the store's name, its backend's options, the clock, logging and the container.
    /// </param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder AddLayer(this StateKitBuilder builder, StateStoreStage stage, string name, Func<IStateStore, StateStoreLayerContext, IStateStore> layer)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(layer);
        var added = new StateStoreLayer(StateStorePipelineBuilder.Check(stage, nameof(stage)), StateStorePipelineBuilder.Check(name), layer);
        builder.Services.Configure<StateStorePipelineOptions>(builder.Name, o => o.Layers.Add(added));
        return builder;
    }

    /// <summary>
    /// Wraps the chosen store, whichever it is, in a layer of the application (normally a <see cref="DelegatingStateStore"/>)
    /// at the <see cref="StateStoreStage.Custom"/> stage: below the cache, above write-behind, the fallback chain and the
    /// memory budget, so a value transform reaches every copy. The first added is the outermost.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="decorator">Creates the decorator around the store it is given (the decorator owns and disposes that store).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder Decorate(this StateKitBuilder builder, Func<IStateStore, IServiceProvider, IStateStore> decorator)
    {
        ArgumentNullException.ThrowIfNull(decorator);
        return builder.AddLayer(StateStoreStage.Custom, "custom", (inner, context) => decorator(inner, context.Services));
    }

    /// <summary>
    /// Adds a named store with its own backend, settings and pipeline, next to the default one: for example
    /// <c>AddStore("persistent", s =&gt; s.UsePostgres(connectionString))</c>. The store is registered as a keyed
    /// <see cref="IStateStore"/> and with its own keyed <see cref="IStateProvider"/> under <paramref name="name"/>
    /// (<c>[FromKeyedServices("persistent")]</c>), and <see cref="RouteTier"/> can send a tier's state to it.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The store's settings are a <see cref="StateKitOptions"/> of its own (named options): bound from
    /// <c>StateKit:Stores:{name}</c> (the same shape as <c>StateKit</c>: <c>Store:Type</c>, <c>Store:ConnectionString</c>,
    /// <c>KeyPrefix</c>, limits, <c>L1</c>), then set by the calls in <paramref name="configure"/>. Nothing is inherited
    /// from the default store's settings. A store named only in configuration (<c>StateKit:Stores:{name}</c>) is added
    /// by <c>AddStateKit(configuration)</c>.
    /// </para>
    /// <para>Calling it again with the same name configures the same store further.</para>
    /// </remarks>
    /// <param name="builder">The builder <c>AddStateKit()</c> returned.</param>
    /// <param name="name">The store's name: letters, digits, <c>-</c>, <c>_</c> and <c>.</c>, at most 64 characters.</param>
    /// <param name="configure">Chooses the backend and decorators, as on the default builder (<c>UseRedis</c>, <c>UseL1</c>, …).</param>
    /// <returns>The builder <c>AddStateKit()</c> returned, to go on with the default store.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty, too long or has other characters.</exception>
    /// <exception cref="InvalidOperationException">The builder is itself a named store's.</exception>
    public static StateKitBuilder AddStore(this StateKitBuilder builder, string name, Action<StateKitBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        if (!IsStoreName(name))
        {
            throw new ArgumentException($"A store name has 1 to 64 letters, digits, '-', '_' or '.' (was '{name}').", nameof(name));
        }

        if (builder.IsNamed)
        {
            throw new InvalidOperationException($"AddStore(\"{name}\") is called on the builder AddStateKit() returns, not inside the store '{builder.Name}'.");
        }

        var marker = StateKitServiceCollectionExtensions.Marker(builder.Services);
        var named = marker.Store(name, out var added);
        if (added)
        {
            var services = builder.Services;
            services.AddOptions<StateKitOptions>(name)
                .Configure<IServiceProvider>((o, sp) =>
                {
                    o.StoreName = name;
                    marker.Section(sp, name, string.Empty)?.Bind(o);
                })
                .ValidateDataAnnotations()
                .ValidateOnStart();
            services.AddKeyedSingleton<IStateStore>(name, (sp, _) => StateStoreSelector.Create(sp, name));
            services.AddKeyedSingleton<IStateProvider>(name, (sp, _) => new StateProvider(
                sp.GetRequiredKeyedService<IStateStore>(name),
                sp.GetRequiredService<StateKit.Serialization.StateValueCodec>(),
                sp.GetRequiredService<IOptions<StateProviderOptions>>(),
                sp.GetRequiredService<TimeProvider>(),
                sp));
        }

        configure(named);
        return builder;
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
        return builder.UseStore(new DelegateStateStoreFactory(factory));
    }

    private static StateKitBuilder UseStoreType(this StateKitBuilder builder, string storeType)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(storeType);
        builder.Services.PostConfigure<StateKitOptions>(builder.Name, o => o.Store.Type = storeType);
        return builder;
    }

    /// <summary>Whether <paramref name="name"/> can name a store.</summary>
    internal static bool IsStoreName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 64)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
