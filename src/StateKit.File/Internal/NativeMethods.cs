using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace StateKit.File.Internal;

/// <summary>
/// fsync through libc, checked. <c>FileStream.Flush(true)</c> returns normally on Linux when fsync fails (EIO, ENOSPC
/// on some file systems), and .NET has no managed call that makes a rename durable, so both go through here and a
/// failure raises <see cref="IOException"/>. On Windows (NTFS journals metadata) a directory fsync is a no-op and a
/// file is flushed with <c>FileStream.Flush(true)</c>, which does report failures there.
/// </summary>
internal static class NativeMethods
{
    private const int ORdOnly = 0;

    /// <summary>Gets or sets a fault to inject (tests only): called with "file" or "directory" and the path; a non-zero errno fails that fsync.</summary>
    internal static Func<string, string, int>? InjectFsyncError { get; set; }

    /// <summary>Gets or sets a write fault to inject (tests only): given the path, how many bytes a write may put down before it fails as a full disk would; <see langword="null"/> for no limit.</summary>
    internal static Func<string, int?>? InjectWriteLimit { get; set; }

    /// <summary>Writes at the stream's position; with <see cref="InjectWriteLimit"/> set, writes part of it and fails like ENOSPC.</summary>
    public static void Write(FileStream stream, ReadOnlySpan<byte> data)
    {
        if (InjectWriteLimit?.Invoke(stream.Name) is { } limit && limit < data.Length)
        {
            stream.Write(data[..limit]);
            throw new IOException($"No space left on device (injected after {limit} bytes).");
        }

        stream.Write(data);
    }

    /// <summary>Flushes a file's data and metadata to disk, or throws.</summary>
    public static void Fsync(FileStream stream)
    {
        stream.Flush(flushToDisk: OperatingSystem.IsWindows());
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Check(InjectFsyncError?.Invoke("file", stream.Name) ?? 0, stream.Name);
        if (FSync(stream.SafeFileHandle) != 0)
        {
            Check(Marshal.GetLastPInvokeError(), stream.Name);
        }
    }

    public static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Check(InjectFsyncError?.Invoke("directory", directory) ?? 0, directory);
        var fd = Open(directory, ORdOnly);
        if (fd < 0)
        {
            throw new IOException($"open('{directory}') for fsync failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        try
        {
            if (FSync(fd) != 0)
            {
                Check(Marshal.GetLastPInvokeError(), directory);
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private static void Check(int errno, string path)
    {
        if (errno != 0)
        {
            throw new IOException($"fsync of '{path}' failed with errno {errno}.");
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FSync(int fd);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FSync(SafeFileHandle fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
