using StateKit.Internal;

namespace StateKit;

/// <summary>
/// The built-in layers on a <see cref="StateStorePipelineBuilder"/> (a pipeline without a container): each is one
/// <see cref="StateStorePipelineBuilder.Use"/> call at its stage, the same layer <c>AddStateKit()</c> adds for the
/// <c>Use…</c> call of the same name. Options are checked at the call, naming the option.
/// </summary>
public static partial class StateStorePipelineBuilderExtensions
{
    /// <summary>Configures and checks a layer's options.</summary>
    private static T Options<T>(Action<T>? configure, string layer)
        where T : new()
    {
        var options = new T();
        configure?.Invoke(options);
        var problems = new List<string>();
        if (!ConfiguredLayers.Check(options!, layer, problems))
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(configure));
        }

        return options;
    }
}
