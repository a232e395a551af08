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
public static class StateKitBuilderExtensions
{
    /// <summary>Uses the in-memory store (the default): fast, process-local, lost on restart.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseMemory(this StateKitBuilder builder) => builder.UseStoreType(MemoryStateStoreFactory.Type);

    /// <summary>
    /// Gives the in-memory store a byte budget: past <paramref name="maxResidentBytes"/>, the least recently used
    /// entries move to files under <paramref name="spillDirectory"/> and come back on their next use, with their version
    /// and expiry (<see cref="SpillingStateStore"/>). The same as <c>StateKit:MemoryBudget</c> in configuration. It does
    /// not choose the backend: on any store other than memory the start fails, naming <c>StateKit:MemoryBudget</c>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="maxResidentBytes">The bytes the resident entries may count (values, keys and 80 bytes each); at least 1024.</param>
    /// <param name="spillDirectory">The directory for spill files (each process uses its own subdirectory, removed when it ends).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseMemoryBudget(this StateKitBuilder builder, long maxResidentBytes, string spillDirectory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxResidentBytes, 1024);
        ArgumentException.ThrowIfNullOrWhiteSpace(spillDirectory);
        builder.Services.Configure<StateKitOptions>(builder.Name, o =>
        {
            o.MemoryBudget.MaxResidentBytes = maxResidentBytes;
            o.MemoryBudget.SpillDirectory = spillDirectory;
        });
        return builder;
    }

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
    /// <param name="layer">Creates the layer around the store below it (the layer owns and disposes that store).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder AddLayer(this StateKitBuilder builder, StateStoreStage stage, string name, Func<IStateStore, IServiceProvider, IStateStore> layer)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(layer);
        if (!Enum.IsDefined(stage))
        {
            throw new ArgumentOutOfRangeException(nameof(stage), stage, "Use a StateStoreStage value.");
        }

        builder.Services.Configure<StateStorePipelineOptions>(builder.Name, o => o.Layers.Add(new StateStoreLayer(stage, name, layer)));
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
    public static StateKitBuilder Decorate(this StateKitBuilder builder, Func<IStateStore, IServiceProvider, IStateStore> decorator) =>
        builder.AddLayer(StateStoreStage.Custom, "custom", decorator);

    /// <summary>
    /// Puts an in-process tier (<see cref="L1StateStore"/>) in front of the chosen store: repeated reads are answered from
    /// memory, changes reported by the store's change feed remove entries at once, and every entry is held at most
    /// <see cref="L1StateStoreOptions.Lifetime"/>. Options are bound from <c>StateKit:L1</c> (a named store's from
    /// <c>StateKit:Stores:{name}:L1</c>) when there is configuration, then from <paramref name="configure"/>, and validated
    /// at start-up.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Bounds and lifetime.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseL1(this StateKitBuilder builder, Action<L1StateStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var name = builder.Name;
        var marker = StateKitServiceCollectionExtensions.Marker(builder.Services);
        var options = builder.Services.AddOptions<L1StateStoreOptions>(name)
            .Configure<IServiceProvider>((o, sp) => marker.Section(sp, name, "L1")?.Bind(o))
            .ValidateDataAnnotations()
            .Validate(o => o.Lifetime > TimeSpan.Zero, "L1 Lifetime must be positive.")
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder.AddLayer(StateStoreStage.Cache, "l1", (store, services) => new L1StateStore(
            store,
            services.GetRequiredService<IOptionsMonitor<L1StateStoreOptions>>().Get(name),
            services.GetService<TimeProvider>()));
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
    /// Puts write-behind (<see cref="WriteBehindStateStore"/>) in front of the chosen store: writes are acknowledged once
    /// they are in a durable journal under <paramref name="journalDirectory"/> and flushed to the store in the background,
    /// coalesced per key; the journal is replayed after a crash. For keys one instance owns (see the remarks there).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="journalDirectory">A local directory for the journal, used by this store only.</param>
    /// <param name="configure">Flush interval, pending bound, flush concurrency.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseWriteBehind(this StateKitBuilder builder, string journalDirectory, Action<WriteBehindOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(journalDirectory);
        var options = new WriteBehindOptions { JournalDirectory = journalDirectory };
        configure?.Invoke(options);
        var problems = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new System.ComponentModel.DataAnnotations.ValidationContext(options), problems, validateAllProperties: true))
        {
            throw new ArgumentException("Write-behind options are not valid: " + string.Join(" ", problems.Select(p => p.ErrorMessage)), nameof(configure));
        }

        var name = builder.Name;
        return builder.AddLayer(StateStoreStage.WriteBehind, "write-behind", (store, services) => new WriteBehindStateStore(
            store,
            options,
            BackendOptions.Of(store) ?? StateStoreSelector.Options(services, name),
            services.GetService<TimeProvider>(),
            services.GetService<Microsoft.Extensions.Logging.ILogger<WriteBehindStateStore>>()));
    }

    /// <summary>
    /// Backs the default store up with named stores (<see cref="AddStore"/>), in order: a fallback chain
    /// (<see cref="FallbackStateStore"/>) that serves from the first store that answers, copies every write to the
    /// fallbacks while the primary serves, and replays the writes made during an outage onto the primary when it recovers.
    /// The same as <c>StateKit:Fallback:Stores</c> in configuration (with <c>ProbeInterval</c>, <c>MaxProbeInterval</c>,
    /// <c>ConflictPolicy</c>).
    /// </summary>
    /// <param name="builder">The builder <c>AddStateKit()</c> returned.</param>
    /// <param name="fallbackStoreNames">The named stores, first fallback first; checked at start-up.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseFallback(this StateKitBuilder builder, params string[] fallbackStoreNames)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(fallbackStoreNames);
        if (fallbackStoreNames.Length == 0 || fallbackStoreNames.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Name at least one fallback store, each added with AddStore.", nameof(fallbackStoreNames));
        }

        if (builder.IsNamed)
        {
            throw new InvalidOperationException($"UseFallback is called on the builder AddStateKit() returns, not inside the store '{builder.Name}'.");
        }

        builder.Services.Configure<StateKitOptions>(o =>
        {
            o.Fallback.Stores.Clear();
            o.Fallback.Stores.AddRange(fallbackStoreNames);
        });
        return builder;
    }

    /// <summary>
    /// Sends the state of a tier to a named store (<see cref="AddStore"/>): the provider's values, lists, history and
    /// checkpoints of every scope of that tier, and for <see cref="StateTier.Session"/> the session records too. The same
    /// as <c>StateKit:Tiers:{tier} = {storeName}</c> in configuration. Tiers not routed stay on the default store.
    /// </summary>
    /// <remarks>
    /// The default <see cref="IStateStore"/> then routes each key by its tier; a batch whose keys belong to two stores is
    /// refused with <see cref="NotSupportedException"/> (StateKit never applies half a batch), and listing keys without a
    /// tier in the prefix lists every store. Routing a tier moves no data: state written before stays where it was.
    /// </remarks>
    /// <param name="builder">The builder <c>AddStateKit()</c> returned.</param>
    /// <param name="tier">The tier.</param>
    /// <param name="storeName">The name of a store added with <see cref="AddStore"/>; checked at start-up.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder RouteTier(this StateKitBuilder builder, StateTier tier, string storeName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(storeName);
        if (!Enum.IsDefined(tier))
        {
            throw new ArgumentOutOfRangeException(nameof(tier), tier, "Unknown tier.");
        }

        if (builder.IsNamed)
        {
            throw new InvalidOperationException($"RouteTier is called on the builder AddStateKit() returns, not inside the store '{builder.Name}'.");
        }

        builder.Services.Configure<StateKitOptions>(o => o.Tiers[tier] = storeName);
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
