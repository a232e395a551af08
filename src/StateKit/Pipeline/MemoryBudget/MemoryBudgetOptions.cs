using System.ComponentModel.DataAnnotations;

namespace StateKit;

/// <summary>
/// The memory budget of the memory store (<c>StateKit:MemoryBudget</c>, or <c>UseMemoryBudget</c>): past
/// <see cref="MaxResidentBytes"/>, least recently used entries move to files in <see cref="SpillDirectory"/> and come back
/// on their next use (see <see cref="SpillingStateStore"/>).
/// </summary>
public sealed class MemoryBudgetOptions
{
    /// <summary>Gets or sets the bytes the resident entries may count (values, keys and 80 bytes each); 0 turns the budget off.</summary>
    /// <value>The default value is 0 (no budget).</value>
    [Range(0, long.MaxValue)]
    public long MaxResidentBytes { get; set; }

    /// <summary>Gets or sets the directory under which the store keeps its spill files (a subdirectory per process); required with a budget.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? SpillDirectory { get; set; }
}
