namespace StateKit;

/// <content>The fallback stage: <c>UseFallback</c>.</content>
public static partial class StateStorePipelineBuilderExtensions
{
    /// <summary>
    /// Puts a fallback chain at <see cref="StateStoreStage.Fallback"/>: it serves from the first store that answers (the
    /// pipeline's store below first, then <paramref name="fallbacks"/> in order), copies every write to the fallbacks while
    /// the primary serves, and replays the writes made during an outage onto the primary when it recovers. The chain owns
    /// and disposes the fallbacks. Its state is <see cref="IFallbackStatus"/> (<c>GetService</c>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="fallbacks">The fallback stores, first fallback first; each must provide the version-preserving write.</param>
    /// <param name="configure">Probing, conflict policy and callbacks.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">No fallback, or an option out of range.</exception>
    public static StateStorePipelineBuilder UseFallback(this StateStorePipelineBuilder builder, IReadOnlyList<IStateStore> fallbacks, Action<FallbackStateStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(fallbacks);
        if (fallbacks.Count == 0 || fallbacks.Any(f => f is null))
        {
            throw new ArgumentException("Give at least one fallback store, none null.", nameof(fallbacks));
        }

        var options = Options(configure, "Fallback");
        var stores = fallbacks.ToArray();
        return builder.Use(StateStoreStage.Fallback, "fallback", FallbackStateStore.Layer(_ => options, _ => stores, ownsFallbacks: true, names: null));
    }
}
