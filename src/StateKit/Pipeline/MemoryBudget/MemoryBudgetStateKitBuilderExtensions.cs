using StateKit;

namespace Microsoft.Extensions.DependencyInjection;

/// <content>The memory budget stage: <c>UseMemoryBudget</c>.</content>
public static partial class StateKitBuilderExtensions
{
    /// <summary>
    /// Gives the in-memory store a byte budget: past <paramref name="maxResidentBytes"/>, the least recently used
    /// entries move to files under <paramref name="spillDirectory"/> and come back on their next use, with their version
    /// and expiry (state: <see cref="IMemoryBudgetStatus"/>). The same as <c>StateKit:MemoryBudget</c> in configuration. It does
    /// not choose the backend: on any store other than memory the start fails, naming <c>StateKit:MemoryBudget</c>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="maxResidentBytes">The bytes the resident entries may count (values, keys and 80 bytes each); at least 1024.</param>
    /// <param name="spillDirectory">The directory for spill files (each process uses its own subdirectory, removed when it ends).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseMemoryBudget(this StateKitBuilder builder, long maxResidentBytes, string spillDirectory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxResidentBytes, 1024);
        ArgumentException.ThrowIfNullOrWhiteSpace(spillDirectory);
        builder.Services.Configure<StateKitOptions>(builder.Name, o =>
        {
            o.MemoryBudget.MaxResidentBytes = maxResidentBytes;
            o.MemoryBudget.SpillDirectory = spillDirectory;
        });
        return builder;
    }
}
