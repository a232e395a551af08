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

    /// <summary>Gets the envelope settings of the value codec (<c>StateKit:Envelope</c>).</summary>
    [Required]
    public StateEnvelopeOptions Envelope { get; } = new();

    /// <summary>
    /// Gets or sets whether store operations are measured and traced (<see cref="StateKitTelemetry"/>): the outermost layer of
    /// the store pipeline then times every operation and opens a span for it, when something listens.
    /// </summary>
    /// <value>The default value is <see langword="true"/>; with no listener the layer costs one check per call.</value>
    public bool Telemetry { get; set; } = true;

    /// <summary>Gets or sets how often the hosted service purges expired entries; <see cref="TimeSpan.Zero"/> turns it off.</summary>
    /// <value>The default value is one minute.</value>
    public TimeSpan PurgeInterval { get; set; } = StateKitDefaults.PurgeInterval;

    /// <summary>
    /// The adapter's options from DI (as set by <c>services.Configure&lt;TStoreOptions&gt;</c> or a <c>Use…(…, configure)</c>
    /// call), with the shared settings they leave unset (key prefix, limits, default time to live) taken from these;
    /// for <see cref="IStateStoreFactory"/> implementations. A setting the adapter's options set is never overwritten.
    /// </summary>
    /// <typeparam name="TStoreOptions">The adapter's options type.</typeparam>
    /// <param name="services">The services.</param>
    /// <returns>The options to create the store with.</returns>
    public TStoreOptions CreateStoreOptions<TStoreOptions>(IServiceProvider services)
        where TStoreOptions : StateStoreOptions, new()
    {
        ArgumentNullException.ThrowIfNull(services);
        var storeOptions = services.GetService<IOptions<TStoreOptions>>()?.Value ?? new TStoreOptions();
        CopyUnsetTo(storeOptions);
        return storeOptions;
    }
}
