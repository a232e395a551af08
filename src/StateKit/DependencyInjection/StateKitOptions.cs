using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StateKit.Serialization;

namespace StateKit;

/// <summary>The options of <c>services.AddStateKit()</c>, bound from the <c>StateKit</c> configuration section.</summary>
public sealed class StateKitOptions : StateStoreOptions
{
    /// <summary>The configuration section name: <c>StateKit</c>.</summary>
    public const string SectionName = "StateKit";

    /// <summary>Gets the backend selection (<c>StateKit:Store</c>).</summary>
    [Required]
    public StateKitStoreOptions Store { get; } = new();

    /// <summary>
    /// Gets the fallback chain (<c>StateKit:Fallback</c>): named stores that back this store up, in order (see
    /// <see cref="IFallbackStatus"/>). Read from the default store's options only.
    /// </summary>
    [Required]
    public FallbackStateStoreOptions Fallback { get; } = new();

    /// <summary>Gets the memory store's budget (<c>StateKit:MemoryBudget</c>): past it, entries spill to disk (see <see cref="IMemoryBudgetStatus"/>).</summary>
    [Required]
    public MemoryBudgetOptions MemoryBudget { get; } = new();

    /// <summary>
    /// Gets which named store (<c>AddStore</c>, <c>StateKit:Stores:{name}</c>) holds each tier's state
    /// (<c>StateKit:Tiers</c>, for example <c>"Tiers": { "Session": "sessions", "Persistent": "durable" }</c>); a tier
    /// not listed stays on the default store. Read from the default store's options only. See <c>RouteTier</c>.
    /// </summary>
    public Dictionary<StateTier, string> Tiers { get; } = [];

    /// <summary>Gets or sets the name of the store these options configure: empty for the default store.</summary>
    internal string StoreName { get; set; } = string.Empty;

    /// <summary>Gets the configuration path of these options, for messages: <c>StateKit</c> or <c>StateKit:Stores:{name}</c>.</summary>
    internal string SectionPath => SectionPathOf(StoreName);

    /// <summary>The configuration path of a store's options: <c>StateKit</c> for the default store, <c>StateKit:Stores:{name}</c> for a named one.</summary>
    internal static string SectionPathOf(string storeName) => storeName.Length == 0 ? SectionName : SectionName + ":Stores:" + storeName;

    /// <summary>Gets the envelope settings of the value codec (<c>StateKit:Envelope</c>).</summary>
    [Required]
    public StateEnvelopeOptions Envelope { get; } = new();

    /// <summary>
    /// Gets or sets whether store operations are measured and traced (<see cref="StateKitTelemetry"/>): the outermost layer of
    /// the store pipeline then times every operation and opens a span for it, when something listens.
    /// </summary>
    /// <value>The default value is <see langword="true"/>; with no listener the layer costs one check per call.</value>
    public bool Telemetry { get; set; } = true;

    /// <summary>
    /// Gets or sets whether the host's start checks every store with a real round trip (a short-lived probe entry written,
    /// read back and deleted): an unreachable server, a wrong password or a directory without permission then fails the
    /// start, naming the store and the cause, instead of the first request after "Application started".
    /// </summary>
    /// <value>The default value is <see langword="false"/> (an app may start before its store is up and recover).</value>
    public bool CheckOnStart { get; set; }

    /// <summary>Gets or sets how often the hosted service purges expired entries; <see cref="TimeSpan.Zero"/> turns it off.</summary>
    /// <value>The default value is one minute.</value>
    public TimeSpan PurgeInterval { get; set; } = StateKitDefaults.PurgeInterval;

    /// <summary>
    /// The adapter's options from DI (as set by <c>services.Configure&lt;TStoreOptions&gt;</c> or a <c>Use…(…, configure)</c>
    /// call; a named store's are the named options of its name), with the shared settings they leave unset (key prefix, limits, default time to live) taken from these;
    /// for <see cref="IStateStoreFactory"/> implementations. A setting the adapter's options set is never overwritten.
    /// Settings of the adapter's options that code left at their defaults are read from the store's configuration
    /// section (<c>StateKit:Store</c>, a named store's <c>StateKit:Stores:{name}:Store</c>), so
    /// <c>"Store": { "Type": "postgres", "Schema": "state" }</c> works without code.
    /// </summary>
    /// <typeparam name="TStoreOptions">The adapter's options type.</typeparam>
    /// <param name="services">The services.</param>
    /// <returns>The options to create the store with.</returns>
    public TStoreOptions CreateStoreOptions<TStoreOptions>(IServiceProvider services)
        where TStoreOptions : StateStoreOptions, new()
    {
        ArgumentNullException.ThrowIfNull(services);
        var storeOptions = services.GetService<IOptionsMonitor<TStoreOptions>>()?.Get(StoreName) ?? new TStoreOptions();
        if (services.GetService<Internal.StateKitMarker>()?.Section(services, StoreName, "Store") is { } section)
        {
            FillFromConfiguration(storeOptions, section);
        }

        CopyUnsetTo(storeOptions);
        return storeOptions;
    }

    /// <summary>Sets the options' settings that still have their default value from the section's keys of the same name.</summary>
    private static void FillFromConfiguration<TStoreOptions>(TStoreOptions storeOptions, Microsoft.Extensions.Configuration.IConfiguration section)
        where TStoreOptions : StateStoreOptions, new()
    {
        var keys = section.GetChildren().Select(c => c.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (keys.Count == 0)
        {
            return;
        }

        var defaults = new TStoreOptions();
        var bound = new TStoreOptions();
        Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(section, bound);
        foreach (var property in typeof(TStoreOptions).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
        {
            if (keys.Contains(property.Name) && property.CanRead && property.CanWrite && property.GetIndexParameters().Length == 0
                && Equals(property.GetValue(storeOptions), property.GetValue(defaults)))
            {
                property.SetValue(storeOptions, property.GetValue(bound));
            }
        }
    }
}
