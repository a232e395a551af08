using StateKit.Adapters;
using StateKit.File.Internal;
using PrivateFiles = StateKit.Internal.PrivateFiles;

namespace StateKit.File;

/// <content>Files: paths, stripe locks, atomic replacement, checked reads, enumeration and I/O error mapping.</content>
public sealed partial class FileStateStore
{
    private static long ToTicks(DateTimeOffset? expiresAt) => expiresAt?.UtcTicks ?? long.MaxValue;

    private string EntryPath(string key) => Path.Combine(_entriesDirectory, FileNames.ForKey(key));

    private long LiveVersion(EntryFile.Decoded? entry) => entry is { } e && e.ExpiresAt > NowTicks ? e.Version : 0;

    private StateWritePlan LivePlan(EntryFile.Decoded? entry) =>
        LiveVersion(entry) == 0 ? default : new StateWritePlan(entry!.Value.Version, FromTicks(entry.Value.ExpiresAt));

    private StateEntry? ToEntry(EntryFile.Decoded? entry) =>
        LiveVersion(entry) == 0
            ? null
            : new StateEntry(entry!.Value.Key, entry.Value.Value, entry.Value.Version, FromTicks(entry.Value.ExpiresAt));

    private static DateTimeOffset? FromTicks(long expiresAt) => expiresAt == long.MaxValue ? null : new DateTimeOffset(expiresAt, TimeSpan.Zero);

    /// <summary>The lock stripe of a file, from its path relative to the namespace so every process agrees.</summary>
    private int StripeOf(string path) => FileNames.Stripe(Path.GetRelativePath(DirectoryPath, path), StripeLocks.Count);

    private ValueTask<StripeLocks.Releaser> LockAsync(string path, string operation, string? key, CancellationToken cancellationToken) =>
        _locks.AcquireAsync(StripeOf(path), Name, operation, key, cancellationToken);

    /// <summary>Temp file → fsync → rename over the old file → fsync the directory. The caller holds the key's lock.</summary>
    /// <remarks>
    /// Until the rename nothing is visible, so a failure reports "not written". After it the new file is what every reader
    /// sees, so a failed directory fsync (the rename may not survive a crash) reports <see cref="StateStoreUnavailableException.WriteMayHaveApplied"/>.
    /// </remarks>
    private void ReplaceFile(string path, byte[] content, string directory, string operation, string key)
    {
        var temp = _locks.TempPath(StripeOf(path));
        Io(operation, key, () =>
        {
            // A fresh random name created exclusively (O_CREAT | O_EXCL, which never follows a symlink): nothing planted in
            // the locks directory can make this write land outside the store.
            try
            {
                using (var stream = PrivateFiles.Open(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, _fileMode))
                {
                    stream.Write(content);
                    NativeMethods.Fsync(stream);
                }

                System.IO.File.Move(temp, path, overwrite: true);
            }
            catch
            {
                TryDelete(temp); // a failed write leaves no temp file behind
                throw;
            }
        });
        Io(operation, key, () => NativeMethods.FsyncDirectory(directory), writeMayHaveApplied: true);
    }

    private EntryFile.Decoded? ReadEntry(string path, string key, string operation, bool tolerateCorrupt)
    {
        var data = ReadAll(path, operation, key);
        if (data is null)
        {
            return null;
        }

        var problem = EntryFile.TryDecode(data, out var decoded, out var detail)
            ? decoded.Key == key ? null : $"the file holds key '{StateKeys.Printable(decoded.Key)}'"
            : detail;
        if (problem is null)
        {
            return decoded;
        }

        if (!tolerateCorrupt)
        {
            throw new StateCorruptedException(Name, operation, key, problem, path);
        }

        Log.ReplacedCorruptEntry(_logger, path, operation, problem);
        return null;
    }

    private byte[]? ReadAll(string path, string operation, string? key)
    {
        try
        {
            using var handle = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            if (length > int.MaxValue - 64)
            {
                throw new StateCorruptedException(Name, operation, key, $"the file is {length} bytes, larger than any value this store writes", path);
            }

            var data = new byte[length];
            var read = ReadAt(handle, data, 0);
            return read == data.Length ? data : data[..read];
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStoreUnavailableException(Name, operation, key, $"'{path}' cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>Deletes the files of <paramref name="directory"/> that are expired: checked without the lock, then again under it.</summary>
    private async ValueTask<long> PurgeDirectoryAsync(string directory, Func<string, bool> isExpired, Action<string> delete, CancellationToken cancellationToken)
    {
        long removed = 0;
        foreach (var path in EnumerateFiles(directory, "PurgeExpired"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!isExpired(path))
            {
                continue;
            }

            using (await LockAsync(path, "PurgeExpired", null, cancellationToken).ConfigureAwait(false))
            {
                if (isExpired(path))
                {
                    delete(path);
                    removed++;
                }
            }
        }

        return removed;
    }

    /// <summary>Streams the files of a directory; a file-system failure surfaces as <see cref="StateStoreUnavailableException"/>.</summary>
    private IEnumerable<string> EnumerateFiles(string directory, string operation)
    {
        IEnumerator<string> files;
        try
        {
            files = Directory.EnumerateFiles(directory).GetEnumerator();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStoreUnavailableException(Name, operation, null, $"the directory '{directory}' cannot be read: {ex.Message}", ex);
        }

        using (files)
        {
            while (true)
            {
                bool more;
                try
                {
                    more = files.MoveNext();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new StateStoreUnavailableException(Name, operation, null, $"the directory '{directory}' cannot be read: {ex.Message}", ex);
                }

                if (!more)
                {
                    yield break;
                }

                yield return files.Current;
            }
        }
    }

    private void DeleteEntryFile(string path) => Io("PurgeExpired", null, () => System.IO.File.Delete(path));

    /// <summary>Deletes a file and fsyncs its directory so the delete survives a crash.</summary>
    private void DeleteDurably(string path, string directory, string operation, string? key)
    {
        Io(operation, key, () => System.IO.File.Delete(path));
        Io(operation, key, () => NativeMethods.FsyncDirectory(directory), writeMayHaveApplied: true);
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the file ends; returns the bytes read.</summary>
    private static int ReadAt(Microsoft.Win32.SafeHandles.SafeFileHandle handle, byte[] buffer, long offset)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer.AsSpan(read), offset + read);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return read;
    }

    /// <summary>Only an entry whose checksum holds is purged: a damaged expiry must never delete a live entry.</summary>
    private bool IsExpiredEntryFile(string path) => ReadChecked(path, Path.GetFileName(path)) is { } entry && entry.ExpiresAt <= NowTicks;

    /// <summary>Reads and checks a whole entry file; <see langword="null"/> when it is missing, damaged, or holds a key that does not belong to its name.</summary>
    private EntryFile.Decoded? ReadChecked(string path, string name)
    {
        byte[]? data;
        try
        {
            data = ReadAll(path, "ListKeys", null);
        }
        catch (StateCorruptedException)
        {
            return null;
        }

        return data is not null && EntryFile.TryDecode(data, out var entry, out _) && FileNames.ForKey(entry.Key) == name ? entry : null;
    }

    private void Io(string operation, string? key, Action action, bool writeMayHaveApplied = false)
    {
        try
        {
            action();
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new StateStoreConfigurationException(Name, operation, key, $"the process may not write in '{DirectoryPath}': {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new StateStoreUnavailableException(Name, operation, key, $"the file system refused the write: {ex.Message}", ex, writeMayHaveApplied);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            System.IO.File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // removed at the next start with the other abandoned temp files
        }
    }

    private void RemoveAbandonedTempFiles(string locksDirectory)
    {
        foreach (var temp in Directory.EnumerateFiles(locksDirectory, "*.tmp"))
        {
            if (int.TryParse(Path.GetFileName(temp).Split('.')[0], out var stripe) && stripe is >= 0 and < StripeLocks.Count)
            {
                _locks.TryWithLock(stripe, () => System.IO.File.Delete(temp));
            }
        }
    }
}
