using System.ComponentModel.DataAnnotations;

namespace StateKit;

/// <summary>The settings of a fallback chain (<c>UseFallback</c>; <c>StateKit:Fallback</c> in configuration); its state is <see cref="IFallbackStatus"/>.</summary>
public sealed class FallbackStateStoreOptions
{
    /// <summary>
    /// Gets the named stores (<c>AddStore</c>) that back the default store up, in order (<c>StateKit:Fallback:Stores</c>).
    /// Empty: no fallback chain.
    /// </summary>
    public List<string> Stores { get; } = [];

    /// <summary>Gets or sets how long the chain waits before it first probes a store that failed; the wait doubles after each failed probe.</summary>
    /// <value>The default value is one second.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the longest wait between probes.</summary>
    /// <value>The default value is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan MaxProbeInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets whose value a key keeps when it changed on the primary and on the fallback during an outage.</summary>
    /// <value>The default value is <see cref="FallbackConflictPolicy.FallbackWins"/>.</value>
    public FallbackConflictPolicy ConflictPolicy { get; set; } = FallbackConflictPolicy.FallbackWins;

    /// <summary>
    /// Gets or sets what runs when the chain changes the store it serves from (as <see cref="IFallbackStatus.Switched"/>).
    /// It runs on the thread that saw the failure or the recovery; an exception it throws is logged, never passed on.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Action<FallbackSwitch>? OnSwitch { get; set; }

    /// <summary>
    /// Gets or sets what runs for each key replay finds changed on both sides of an outage (as
    /// <see cref="IFallbackStatus.Conflict"/>), after the key was resolved by <see cref="ConflictPolicy"/>. An exception it
    /// throws is logged, never passed on.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Action<FallbackConflict>? OnConflict { get; set; }
}

/// <summary>How a fallback chain resolves a key that changed on both sides of an outage (see <see cref="IFallbackStatus"/>).</summary>
public enum FallbackConflictPolicy
{
    /// <summary>The value written on the fallback during the outage (acknowledged to this instance's callers) replaces the primary's.</summary>
    FallbackWins,

    /// <summary>The primary's value stays; the fallback's change is dropped (and reported).</summary>
    PrimaryWins,
}

/// <summary>A key that changed on the primary and on the fallback during an outage, found while replaying (<see cref="FallbackStateStore.Conflict"/>).</summary>
/// <param name="Key">The key.</param>
/// <param name="BaseVersion">The version both sides had when the fallback first changed it (0: absent); a list's length.</param>
/// <param name="PrimaryVersion">The primary's version found at replay (0: absent); a list's length.</param>
/// <param name="FallbackVersion">The fallback's version (0: deleted there); a list's length.</param>
/// <param name="Resolution">Which side's value the key kept.</param>
public sealed record FallbackConflict(string Key, long BaseVersion, long PrimaryVersion, long FallbackVersion, FallbackConflictPolicy Resolution);

/// <summary>A fallback chain changed the store it serves from (<see cref="FallbackStateStore.Switched"/>).</summary>
/// <param name="From">The index in the chain it left (0 is the primary).</param>
/// <param name="To">The index it serves from now.</param>
/// <param name="Reason">Why: the failure, or the recovery and how many keys were replayed.</param>
public sealed record FallbackSwitch(int From, int To, string Reason);
