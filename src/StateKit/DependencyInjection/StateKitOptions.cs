using System.ComponentModel.DataAnnotations;
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

    /// <summary>Gets or sets how often the hosted service purges expired entries; <see cref="TimeSpan.Zero"/> turns it off.</summary>
    /// <value>The default value is one minute.</value>
    public TimeSpan PurgeInterval { get; set; } = StateKitDefaults.PurgeInterval;
}
