namespace StateKit;

/// <summary>
/// The state of a memory store's budget (<c>UseMemoryBudget</c>): <c>store.GetService&lt;IMemoryBudgetStatus&gt;()</c>,
/// <see langword="null"/> when the pipeline has none.
/// </summary>
public interface IMemoryBudgetStatus
{
    /// <summary>Gets the bytes the resident entries count (values, keys and a fixed overhead each).</summary>
    long ResidentBytes { get; }

    /// <summary>Gets how many entries are in spill files now.</summary>
    int SpilledCount { get; }

    /// <summary>Gets how many entries were moved to spill files so far.</summary>
    long Spills { get; }

    /// <summary>Gets how many entries were brought back from spill files so far.</summary>
    long Restores { get; }

    /// <summary>Gets this process's spill directory (removed when the store is disposed).</summary>
    string SpillPath { get; }
}
