namespace StateKit;

/// <summary>
/// A base for the <see cref="IStateStoreFactory"/> of an adapter with its own options type: builds the options from DI
/// (see <see cref="StateKitOptions.CreateStoreOptions{TStoreOptions}"/>), fills in what <c>StateKit:Store</c> gives
/// (<see cref="Complete"/>), validates them at start-up (what is required, then <see cref="StateStoreOptions.Validate"/>)
/// and creates the store from them.
/// </summary>
/// <typeparam name="TStoreOptions">The adapter's options type.</typeparam>
public abstract class StateStoreFactory<TStoreOptions> : IStateStoreFactory
    where TStoreOptions : StateStoreOptions, new()
{
    /// <inheritdoc />
    public abstract string StoreType { get; }

    /// <inheritdoc />
    public IEnumerable<string> Validate(IServiceProvider services, StateKitOptions options)
    {
        var storeOptions = CreateOptions(services, options);
        return Missing(storeOptions) is { } missing ? [AtSection(missing, options)] : storeOptions.Validate(typeof(TStoreOptions).Name);
    }

    /// <inheritdoc />
    public IStateStore Create(IServiceProvider services, StateKitOptions options) => Create(services, CreateOptions(services, options));

    /// <summary>Fills the settings the adapter's options leave empty from <c>StateKit:Store</c> (path, connection string).</summary>
    /// <param name="storeOptions">The adapter's options.</param>
    /// <param name="options">The StateKit options.</param>
    protected abstract void Complete(TStoreOptions storeOptions, StateKitOptions options);

    /// <summary>
    /// Tells what required setting is missing, naming where to set it as for the default store (<c>StateKit:Store:…</c>);
    /// for a named store the path is given as <c>StateKit:Stores:{name}:Store:…</c>. <see langword="null"/> when nothing is.
    /// </summary>
    /// <param name="storeOptions">The completed options.</param>
    /// <returns>The problem, or <see langword="null"/>.</returns>
    protected abstract string? Missing(TStoreOptions storeOptions);

    /// <summary>Creates the store.</summary>
    /// <param name="services">The service provider, for the clock, loggers and shared connections.</param>
    /// <param name="storeOptions">The completed, validated options.</param>
    /// <returns>The store; disposed by the container.</returns>
    protected abstract IStateStore Create(IServiceProvider services, TStoreOptions storeOptions);

    private static string AtSection(string problem, StateKitOptions options) =>
        problem.Replace(StateKitOptions.SectionName + ":Store:", options.SectionPath + ":Store:", StringComparison.Ordinal);

    private TStoreOptions CreateOptions(IServiceProvider services, StateKitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var storeOptions = options.CreateStoreOptions<TStoreOptions>(services);
        Complete(storeOptions, options);
        return storeOptions;
    }
}
