namespace StateKit;

/// <content>The cache stage: <c>UseL1</c>.</content>
public static partial class StateStorePipelineBuilderExtensions
{
    /// <summary>
    /// Puts the in-process tier at <see cref="StateStoreStage.Cache"/>: repeated reads are answered from memory, changes
    /// reported by the store's change feed remove entries at once, and every entry is held at most
    /// <see cref="L1StateStoreOptions.Lifetime"/>. Its state is <see cref="IL1Status"/> (<c>GetService</c>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Bounds, lifetime and fail-safe.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public static StateStorePipelineBuilder UseL1(this StateStorePipelineBuilder builder, Action<L1StateStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = Options(configure, "L1");
        return builder.Use(StateStoreStage.Cache, "l1", L1StateStore.Layer(_ => options));
    }
}
