using System.ComponentModel.DataAnnotations;

namespace StateKit;

/// <summary>Options of <see cref="L1StateStore"/>, the in-process tier in front of a store.</summary>
public sealed class L1StateStoreOptions
{
    /// <summary>Gets or sets the most entries the tier holds (default 10,000).</summary>
    [Range(1, int.MaxValue)]
    public int MaxEntries { get; set; } = 10_000;

    /// <summary>Gets or sets the most value bytes the tier holds (default 64 MiB); a value over a tenth of it is never held.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Gets or sets how long an entry may be answered from the tier after it was read from the store (default 30
    /// seconds). Changes are also pushed by the store's change feed when it has one (<see cref="IStateChangeFeed"/>),
    /// which removes a changed entry as soon as its notice arrives; for a store without a feed, or a change made by a
    /// writer that does not publish, this lifetime is the longest an instance can answer a value that changed elsewhere.
    /// </summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromSeconds(30);
}
