namespace StateKit;

/// <summary>
/// Where a layer sits in a store's pipeline. The order is fixed, outer (first to see a call) to inner:
/// <c>telemetry &gt; cache (L1) &gt; custom &gt; encryption &gt; write-behind &gt; fallback &gt; memory budget &gt; backend</c>
/// (tier routing, when configured, sits in front of the default store's telemetry). Within a stage the layer added
/// first is the outermost, as in ASP.NET Core middleware. The order is chosen so that encryption (and any value
/// transform of the application) reaches every copy of a value below it (the write-behind journal, the fallback mirror
/// and the spill files), the in-process cache answers from above everything (its fail-safe is the last resort, after the
/// fallback chain), and telemetry measures what callers see.
/// </summary>
public enum StateStoreStage
{
    /// <summary>Metrics and traces of every call (<c>StateKit:Telemetry</c>); outermost.</summary>
    Telemetry = 0,

    /// <summary>The in-process tier, <c>UseL1</c>.</summary>
    Cache = 1,

    /// <summary>Layers of the application (<c>Decorate</c>): value transforms, policies, auditing. They see values unencrypted.</summary>
    Custom = 2,

    /// <summary>Encryption at rest, <c>UseEncryption</c>: every copy below holds ciphertext.</summary>
    Encryption = 3,

    /// <summary>Acknowledge writes from a local journal and flush them later, <c>UseWriteBehind</c>.</summary>
    WriteBehind = 4,

    /// <summary>Serve from the next store while the primary is out, <c>UseFallback</c>.</summary>
    Fallback = 5,

    /// <summary>Move the least recently used entries of the memory store to files, <c>UseMemoryBudget</c>; the memory store only.</summary>
    MemoryBudget = 6,
}
