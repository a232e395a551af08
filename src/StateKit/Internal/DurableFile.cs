using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace StateKit.Internal;

/// <summary>
/// Checked data syncs for the write-behind journal. <c>FileStream.Flush(true)</c> returns normally on Linux when the
/// sync fails (EIO, ENOSPC on some file systems), so on Linux the journal calls <c>fdatasync</c> (its segments are
/// zero-filled when created, so an append changes no metadata and needs no full fsync) and a failure raises
/// <see cref="IOException"/>; elsewhere it flushes through a <see cref="FileStream"/>, which reports failures there.
/// </summary>
internal static class DurableFile
{
    /// <summary>Gets or sets an errno to fail the next syncs with (fault-injection tests only).</summary>
    internal static int InjectedErrno { get; set; }

    /// <summary>Makes the data written through <paramref name="handle"/> durable, or throws.</summary>
    public static void SyncData(SafeFileHandle handle, FileStream? stream)
    {
        if (InjectedErrno != 0)
        {
            throw new IOException($"fdatasync failed with errno {InjectedErrno} (injected).");
        }

        if (OperatingSystem.IsLinux())
        {
            if (FDataSync(handle) != 0)
            {
                throw new IOException($"fdatasync failed with errno {Marshal.GetLastPInvokeError()}.");
            }

            return;
        }

        stream?.Flush(flushToDisk: true);
    }

    /// <summary>Makes a directory's entries (a new file) durable on Linux, or throws; a no-op elsewhere.</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(directory, 0);
        if (fd < 0)
        {
            throw new IOException($"open('{directory}') for fsync failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        try
        {
            if (FSync(fd) != 0)
            {
                throw new IOException($"fsync of '{directory}' failed with errno {Marshal.GetLastPInvokeError()}.");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static extern int FDataSync(SafeFileHandle fd);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FSync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
