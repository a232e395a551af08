using StateKit;

namespace Microsoft.Extensions.DependencyInjection;

/// <content>Tier routing in front of the default store: <c>RouteTier</c>.</content>
public static partial class StateKitBuilderExtensions
{
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
}
