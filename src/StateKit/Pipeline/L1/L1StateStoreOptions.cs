using System.ComponentModel.DataAnnotations;

namespace StateKit;

/// <summary>Options of the in-process tier in front of a store (<c>UseL1</c>; its state is <see cref="IL1Status"/>).</summary>
public sealed class L1StateStoreOptions
{
    /// <summary>Gets or sets the most entries the tier holds (<c>StateKit:L1:MaxEntries</c>).</summary>
    /// <value>The default value is 10,000; at least 1.</value>
    [Range(1, int.MaxValue)]
    public int MaxEntries { get; set; } = 10_000;

    /// <summary>Gets or sets the most bytes the tier holds (values, keys and 64 bytes each); a value over a tenth of it is never held.</summary>
    /// <value>The default value is 64 MiB; at least 1024.</value>
    [Range(1024, long.MaxValue)]
    public long MaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Gets or sets how long an entry may be answered from the tier after it was read from the store. Changes are also pushed by the store's change feed when it has one (<see cref="IStateChangeFeed"/>),
    /// which removes a changed entry as soon as its notice arrives; for a store without a feed, or a change made by a
    /// writer that does not publish, this lifetime is the longest an instance can answer a value that changed elsewhere.
    /// </summary>
    /// <value>The default value is 30 seconds; it must be positive.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "10675199.02:48:05.4775807", ErrorMessage = "{0} must be positive.")]
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the fail-safe: when the store is unavailable (<see cref="StateStoreUnavailableException"/>), a single read
    /// may answer the last value the tier read, up to this long after that read, marked stale
    /// (<see cref="IL1Status.IsStale"/>); later, or with no such value, the read fails as the store did. Writes never
    /// pretend: they always fail when the store does. <see langword="null"/> (the default) turns the fail-safe off.
    /// </summary>
    /// <remarks>
    /// With the fail-safe on, entries past their <see cref="Lifetime"/> and entries of a feed that lost its connection
    /// (a resync) are kept, but only for this fallback: a normal read goes to the store. A change reported for a key
    /// removes it even from the fallback.
    /// </remarks>
    /// <value>The default value is <see langword="null"/> (off); when set, it must be positive.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "10675199.02:48:05.4775807", ErrorMessage = "{0} must be positive.")]
    public TimeSpan? FailSafeMaxStaleness { get; set; }
}
