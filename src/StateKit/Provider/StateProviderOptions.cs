using System.ComponentModel.DataAnnotations;

namespace StateKit;

/// <summary>Options of the state provider (<c>StateKit:Provider</c>).</summary>
public sealed class StateProviderOptions
{
    /// <summary>Gets or sets how many times <c>UpdateAsync</c> (and a merge) re-reads and re-applies after a conflict before giving up (default 100; retries after the first wait a random pause that grows with each lost race, up to 256 ms).</summary>
    [Range(1, 10_000)]
    public int MaxUpdateAttempts { get; set; } = 100;

    /// <summary>
    /// Gets the state types declared immutable besides those marked <see cref="ImmutableStateAttribute"/>: with an L1 tier,
    /// their decoded instances are shared between reads of an unchanged value (see the attribute).
    /// </summary>
    public ISet<Type> ImmutableTypes { get; } = new HashSet<Type>();

    /// <summary>
    /// Gets how many versions of a key the history keeps, per tier; 0 keeps none. By default Persistent keeps 100,
    /// Shared and Global 10, and the Local and Session tiers none: their state is short-lived and per process or per
    /// conversation, and a history record is stored under the version a write creates, so keeping one makes every
    /// unconditional typed write read the current version first (a read and a two-entry batch instead of one write).
    /// Set a limit to keep history there (<c>StateKit:Provider:HistoryLimits:Session</c> in configuration).
    /// </summary>
    public Dictionary<StateTier, int> HistoryLimits { get; } = new()
    {
        [StateTier.Local] = 0,
        [StateTier.Shared] = 10,
        [StateTier.Session] = 0,
        [StateTier.Persistent] = 100,
        [StateTier.Global] = 10,
    };

    /// <summary>Gets or sets after how many changes to a scope (in this process) a checkpoint is taken automatically; 0 = never (default).</summary>
    [Range(0, int.MaxValue)]
    public int AutoCheckpointEveryChanges { get; set; }

    /// <summary>Gets or sets the interval after which the next change to a scope takes an automatic checkpoint; <see langword="null"/> = never (default).</summary>
    public TimeSpan? AutoCheckpointInterval { get; set; }

    /// <summary>Gets or sets how many automatic checkpoints a scope keeps; older ones are deleted (default 10). Manual checkpoints are kept until deleted.</summary>
    [Range(1, 10_000)]
    public int MaxAutoCheckpoints { get; set; } = 10;

    /// <summary>Gets or sets the most keys (values plus lists) a checkpoint may hold (default 10,000).</summary>
    [Range(1, 10_000_000)]
    public int MaxCheckpointKeys { get; set; } = 10_000;
}
