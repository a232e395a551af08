using Microsoft.Extensions.Options;
using StateKit;

namespace Microsoft.Extensions.DependencyInjection;

/// <content>The cache stage: <c>UseL1</c>.</content>
public static partial class StateKitBuilderExtensions
{
    /// <summary>
    /// Puts an in-process tier  in front of the chosen store: repeated reads are answered from
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
        var options = builder.BindOptions<L1StateStoreOptions>("L1", name)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder.AddLayer(StateStoreStage.Cache, "l1", L1StateStore.Layer(context => context.Services.GetRequiredService<IOptionsMonitor<L1StateStoreOptions>>().Get(name)));
    }
}
