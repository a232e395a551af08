using System.ComponentModel.DataAnnotations;

namespace StateKit.File;

/// <summary>Options of <see cref="FileStateStore"/>.</summary>
public sealed class FileStateStoreOptions : StateStoreOptions
{
    /// <summary>Gets or sets the root directory; created when missing. Each key prefix gets its own sub-directory.</summary>
    /// <value>The default value is <see langword="null"/>: it must be set.</value>
    [Required]
    public string? RootPath { get; set; }

    /// <summary>Gets or sets how long a writer waits for the lock of a key held by another writer or process.</summary>
    /// <value>The default value is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how often the change feed reads the change log for changes made by other processes on the same
    /// directory (default 100 ms). Only a store with a subscriber polls.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan ChangePollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Gets or sets the Unix mode of the files the store creates (entries, lists, locks, the change log); the directories
    /// it creates get the matching search bits. Existing files and directories keep theirs. Ignored on Windows.
    /// </summary>
    /// <value>The default value is owner read and write (0600; directories 0700), whatever the process umask.</value>
    public UnixFileMode FileMode { get; set; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;
}
