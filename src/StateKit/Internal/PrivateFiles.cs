namespace StateKit.Internal;

/// <summary>
/// Files and directories StateKit creates hold state (session ids, conversations): on Unix they are created for their
/// owner only — directories 0700, files 0600 — whatever the process umask, unless a store's options widen it. Existing
/// files and directories keep their modes. On Windows the default ACLs apply.
/// </summary>
internal static class PrivateFiles
{
    /// <summary>Owner read and write: the default mode of the files StateKit creates.</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The directory mode that goes with a file mode: each class that may read files may also enter the directory.</summary>
    public static UnixFileMode DirectoryMode(UnixFileMode fileMode) =>
        fileMode
        | (fileMode.HasFlag(UnixFileMode.UserRead) ? UnixFileMode.UserExecute : 0)
        | (fileMode.HasFlag(UnixFileMode.GroupRead) ? UnixFileMode.GroupExecute : 0)
        | (fileMode.HasFlag(UnixFileMode.OtherRead) ? UnixFileMode.OtherExecute : 0);

    /// <summary>Creates a directory (and missing parents) with the directory mode of <paramref name="fileMode"/>.</summary>
    public static DirectoryInfo CreateDirectory(string path, UnixFileMode fileMode = OwnerOnly) =>
        OperatingSystem.IsWindows() ? Directory.CreateDirectory(path) : Directory.CreateDirectory(path, DirectoryMode(fileMode));

    /// <summary>Opens a file; one this call creates gets <paramref name="fileMode"/>.</summary>
    public static FileStream Open(string path, FileMode mode, FileAccess access, FileShare share, UnixFileMode fileMode = OwnerOnly, int bufferSize = 1, FileOptions options = FileOptions.None)
    {
        var settings = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = bufferSize, Options = options };
        if (!OperatingSystem.IsWindows() && mode is not (FileMode.Open or FileMode.Truncate))
        {
            settings.UnixCreateMode = fileMode;
        }

        return new FileStream(path, settings);
    }

    /// <summary>Creates the file when it is missing (empty, with <paramref name="fileMode"/>); an existing file is left as it is.</summary>
    public static void EnsureExists(string path, UnixFileMode fileMode = OwnerOnly)
    {
        using var created = Open(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, fileMode);
    }
}
