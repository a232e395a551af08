using System.Runtime.InteropServices;

namespace StateKit.File.Internal;

/// <summary>
/// Directory fsync through libc: .NET has no managed call that makes a rename durable, so the directory is
/// opened read-only and fsync'ed. On Windows (NTFS journals metadata) this is a no-op.
/// </summary>
internal static class NativeMethods
{
    private const int ORdOnly = 0;

    public static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = Open(directory, ORdOnly);
        if (fd < 0)
        {
            throw new IOException($"open('{directory}') for fsync failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        try
        {
            if (FSync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed with errno {Marshal.GetLastPInvokeError()}.");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FSync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
