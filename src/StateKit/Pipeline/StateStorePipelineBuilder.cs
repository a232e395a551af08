using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Internal;

namespace StateKit;

/// <summary>
/// Puts a store's layers together around a backend, in the fixed stage order of <see cref="StateStoreStage"/>, without a
/// container (as <c>ChatClientBuilder</c> does for chat clients). <c>AddStateKit()</c> builds every pipeline with it; use
/// it directly for a store of your own making:
/// <code>
/// await using var store = new StateStorePipelineBuilder(new MemoryStateStore())
///     .UseL1()
///     .UseWriteBehind("/var/lib/app/journal")
///     .Build();
/// </code>
/// The order of the <c>Use…</c> calls does not matter across stages; within a stage the layer added first is the
/// outermost. <see cref="StateStoreExtensions.DescribePipeline"/> shows the result.
/// </summary>
public sealed class StateStorePipelineBuilder
{
    private readonly IStateStore _backend;
    private readonly List<StateStoreLayer> _layers = [];
    private readonly string _storeName;
    private readonly StateStoreOptions? _storeOptions;
    private bool _built;

    /// <summary>Initializes a new instance of the <see cref="StateStorePipelineBuilder"/> class.</summary>
    /// <param name="backend">The backend the layers wrap; the built pipeline owns and disposes it.</param>
    public StateStorePipelineBuilder(IStateStore backend)
        : this(backend, string.Empty, null)
    {
    }

    internal StateStorePipelineBuilder(IStateStore backend, string storeName, StateStoreOptions? storeOptions)
    {
        ArgumentNullException.ThrowIfNull(backend);
        _backend = backend;
        _storeName = storeName;
        _storeOptions = storeOptions;
    }

    /// <summary>
    /// Adds a layer at <paramref name="stage"/>: the one door every layer, built-in or yours, enters through.
    /// </summary>
    /// <param name="stage">Where the layer sits.</param>
    /// <param name="name">A name for errors.</param>
    /// <param name="layer">Creates the layer around the store below it (the layer then owns and disposes that store).</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stage"/> is not a <see cref="StateStoreStage"/>.</exception>
    /// <exception cref="InvalidOperationException">The pipeline was built already.</exception>
    public StateStorePipelineBuilder Use(StateStoreStage stage, string name, Func<IStateStore, StateStoreLayerContext, IStateStore> layer)
    {
        Add(new StateStoreLayer(Check(stage, nameof(stage)), Check(name), layer ?? throw new ArgumentNullException(nameof(layer))));
        return this;
    }

    /// <summary>Adds a layer of the application at <see cref="StateStoreStage.Custom"/> (for example a value transform).</summary>
    /// <param name="decorator">Creates the layer around the store below it (the layer then owns and disposes that store).</param>
    /// <returns>This builder.</returns>
    public StateStorePipelineBuilder Decorate(Func<IStateStore, IStateStore> decorator)
    {
        ArgumentNullException.ThrowIfNull(decorator);
        return Use(StateStoreStage.Custom, "custom", (inner, _) => decorator(inner));
    }

    /// <summary>
    /// Builds the pipeline: the backend wrapped in every layer, innermost stage first. On failure everything built so far
    /// (the backend included) is disposed. A builder builds once.
    /// </summary>
    /// <param name="services">The services layers may use (clock, logging, meters); none by default.</param>
    /// <returns>The outermost layer (the backend itself when no layer was added).</returns>
    /// <exception cref="InvalidOperationException">The pipeline was built already, or a layer refused the store below it.</exception>
    public IStateStore Build(IServiceProvider? services = null)
    {
        if (_built)
        {
            throw new InvalidOperationException("This pipeline was built already; a builder builds once (it owns its backend).");
        }

        _built = true;
        services ??= EmptyServices.Instance;
        var backend = _backend.GetService<IStateStoreBackend>()?.Guard;
        var context = new StateStoreLayerContext(
            _storeName,
            backend?.Options ?? _storeOptions ?? new StateStoreOptions(),
            backend?.TimeProvider ?? services.GetService<TimeProvider>() ?? TimeProvider.System,
            services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance,
            services);
        var ordered = _layers.Select((layer, index) => (layer, index)).OrderByDescending(l => l.layer.Stage).ThenByDescending(l => l.index).Select(l => l.layer);
        var store = _backend;
        try
        {
            foreach (var layer in ordered)
            {
                store = layer.Create(store, context) ?? throw new InvalidOperationException($"The layer '{layer.Name}' ({layer.Stage}) returned null.");
            }

            return store;
        }
        catch
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>Adds a checked layer.</summary>
    internal void Add(StateStoreLayer layer)
    {
        if (_built)
        {
            throw new InvalidOperationException("This pipeline was built already; add layers before Build.");
        }

        _layers.Add(layer);
    }

    /// <summary>Checks a stage argument.</summary>
    internal static StateStoreStage Check(StateStoreStage stage, string parameter) =>
        Enum.IsDefined(stage) ? stage : throw new ArgumentOutOfRangeException(parameter, stage, "Use a StateStoreStage value.");

    /// <summary>Checks a layer name argument.</summary>
    internal static string Check(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return name;
    }

    /// <summary>A provider with no services.</summary>
    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}

/// <summary>One layer: its stage, its name, and how it is made around the store below it.</summary>
/// <param name="Stage">Its stage.</param>
/// <param name="Name">Its name, for errors.</param>
/// <param name="Create">Creates it around the store below it (it then owns that store).</param>
internal sealed record StateStoreLayer(StateStoreStage Stage, string Name, Func<IStateStore, StateStoreLayerContext, IStateStore> Create);
