namespace StateKit;

/// <content>The memory budget stage: <c>UseMemoryBudget</c>.</content>
public static partial class StateStorePipelineBuilderExtensions
{
    /// <summary>
    /// Gives a memory store a byte budget at <see cref="StateStoreStage.MemoryBudget"/>: past
    /// <paramref name="maxResidentBytes"/>, the least recently used entries move to files under
    /// <paramref name="spillDirectory"/> and come back on their next use, with their version and expiry. The backend must be
    /// a <see cref="MemoryStateStore"/> (<see cref="StateStorePipelineBuilder.Build"/> fails otherwise). Its state is
    /// <see cref="IMemoryBudgetStatus"/> (<c>GetService</c>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="maxResidentBytes">The bytes the resident entries may count (values, keys and 80 bytes each); at least 1024.</param>
    /// <param name="spillDirectory">The directory for spill files (each process uses its own subdirectory, removed when it ends).</param>
    /// <returns>The builder.</returns>
    public static StateStorePipelineBuilder UseMemoryBudget(this StateStorePipelineBuilder builder, long maxResidentBytes, string spillDirectory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxResidentBytes, 1024);
        ArgumentException.ThrowIfNullOrWhiteSpace(spillDirectory);
        var options = new MemoryBudgetOptions { MaxResidentBytes = maxResidentBytes, SpillDirectory = spillDirectory };
        return builder.Use(StateStoreStage.MemoryBudget, "memory-budget", SpillingStateStore.Layer(options, "MemoryBudget"));
    }
}
