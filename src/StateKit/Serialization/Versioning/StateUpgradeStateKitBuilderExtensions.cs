using Microsoft.Extensions.DependencyInjection.Extensions;
using StateKit;

namespace Microsoft.Extensions.DependencyInjection;

/// <content>Versioned state types: <c>AddStateUpgrades</c>.</content>
public static partial class StateKitBuilderExtensions
{
    /// <summary>
    /// Registers the upgraders of <typeparamref name="T"/>: a value stored at an older schema version than the type's
    /// <see cref="StateVersionAttribute"/> is brought up to it on read (typed state, lists, history, sessions), one step
    /// per version. The steps are checked here: they must lead from the oldest version to the current one without a gap,
    /// and each typed step must return what the next one reads. A stored version with no step is
    /// <see cref="StateTypeVersionException"/> on read, as is a value written by a newer version of the type.
    /// </summary>
    /// <typeparam name="T">The state type, at its current version.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Adds the steps: <c>From&lt;TOld, TNext&gt;(version, …)</c> or <c>FromJson(version, …)</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">The steps have a gap, do not reach the current version, do not chain, or <typeparamref name="T"/> has upgraders already.</exception>
    public static StateKitBuilder AddStateUpgrades<T>(this StateKitBuilder builder, Action<StateUpgradeBuilder<T>> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var steps = new StateUpgradeBuilder<T>();
        configure(steps);
        var upgrades = builder.Services.LastOrDefault(d => d.ServiceType == typeof(StateUpgrades))?.ImplementationInstance as StateUpgrades;
        if (upgrades is null)
        {
            upgrades = new StateUpgrades();
            builder.Services.TryAddSingleton(upgrades);
        }

        upgrades.Add(steps);
        return builder;
    }
}
