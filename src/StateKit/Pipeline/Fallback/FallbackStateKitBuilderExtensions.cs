using StateKit;

namespace Microsoft.Extensions.DependencyInjection;

/// <content>The fallback stage: <c>UseFallback</c>.</content>
public static partial class StateKitBuilderExtensions
{
    /// <summary>
    /// Backs the default store up with named stores (<see cref="AddStore"/>), in order: a fallback chain
    /// (state: <see cref="IFallbackStatus"/>) that serves from the first store that answers, copies every write to the
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
}
