using System.ComponentModel.DataAnnotations;

namespace StateKit;

/// <summary>The settings of write-behind (<c>UseWriteBehind</c>; its state is <see cref="IWriteBehindStatus"/>).</summary>
public sealed class WriteBehindOptions
{
    /// <summary>Gets or sets the local directory of the durable journal (one store per directory). Required.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    [Required]
    public string? JournalDirectory { get; set; }

    /// <summary>Gets or sets how often acknowledged writes are flushed to the store (sooner when many are waiting).</summary>
    /// <value>The default value is 50 milliseconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Gets or sets the value bytes acknowledged but not flushed past which writers wait for the flush (back-pressure).</summary>
    /// <value>The default value is 64 MB.</value>
    [Range(1024, long.MaxValue)]
    public long MaxPendingBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Gets or sets how many keys are written to the store at once during a flush.</summary>
    /// <value>The default value is 16.</value>
    [Range(1, 256)]
    public int FlushConcurrency { get; set; } = 16;

    /// <summary>Gets or sets the size of a journal segment (zero-filled when created): 16 MB; smaller in tests.</summary>
    internal long SegmentBytes { get; set; } = 16L * 1024 * 1024;
}
