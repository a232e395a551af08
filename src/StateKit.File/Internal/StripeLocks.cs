using PrivateFiles = StateKit.Internal.PrivateFiles;

namespace StateKit.File.Internal;

/// <summary>
/// Striped locks that serialize writers of the same key within this process (a semaphore) and across
/// processes (an exclusive OS lock on a lock file: <c>flock</c> on Unix, a share-none handle on Windows).
/// A fixed number of lock files is used, so nothing accumulates as keys come and go.
/// </summary>
internal sealed class StripeLocks : IDisposable
{
    public const int Count = 64;
    private readonly UnixFileMode _fileMode;
    private readonly SemaphoreSlim[] _gates = new SemaphoreSlim[Count];
    private readonly string _directory;
    private readonly TimeSpan _timeout;

    public StripeLocks(string directory, TimeSpan timeout, UnixFileMode fileMode = PrivateFiles.OwnerOnly)
    {
        _directory = directory;
        _fileMode = fileMode;
        _timeout = timeout;
        for (var i = 0; i < Count; i++)
        {
            _gates[i] = new SemaphoreSlim(1, 1);
        }
    }

    /// <summary>A temp file name for a write under <paramref name="stripe"/>'s lock: random, so no one can plant a file or a symlink at it.</summary>
    public string TempPath(int stripe) => Path.Combine(_directory, $"{stripe:D2}.{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))}.tmp");

    public async ValueTask<Releaser> AcquireAsync(int stripe, string storeName, string operation, string? key, CancellationToken cancellationToken)
    {
        var gate = _gates[stripe];
        if (!await gate.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false))
        {
            throw new StateStoreUnavailableException(storeName, operation, key, $"the in-process lock was not acquired within {_timeout}");
        }

        try
        {
            var path = Path.Combine(_directory, $"{stripe:D2}.lock");
            var started = Environment.TickCount64;
            var delay = 1;
            while (true)
            {
                try
                {
                    var handle = PrivateFiles.Open(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, _fileMode);
                    return new Releaser(gate, handle);
                }
                catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException)
                {
                    if (Environment.TickCount64 - started > _timeout.TotalMilliseconds)
                    {
                        throw new StateStoreUnavailableException(storeName, operation, key, $"the file lock '{path}' is held by another process for more than {_timeout}", ex);
                    }

                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    delay = Math.Min(delay * 2, 20);
                }
                catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
                {
                    throw new StateStoreUnavailableException(storeName, operation, key, $"the lock file '{path}' cannot be opened: {ex.Message}", ex);
                }
            }
        }
        catch
        {
            gate.Release();
            throw;
        }
    }

    /// <summary>Tries the OS lock once without waiting; used to clean up temp files nobody is writing.</summary>
    public bool TryWithLock(int stripe, Action action)
    {
        if (!_gates[stripe].Wait(0))
        {
            return false;
        }

        try
        {
            using var handle = PrivateFiles.Open(Path.Combine(_directory, $"{stripe:D2}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, _fileMode);
            action();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        finally
        {
            _gates[stripe].Release();
        }
    }

    public void Dispose()
    {
        foreach (var gate in _gates)
        {
            gate.Dispose();
        }
    }

    public readonly struct Releaser(SemaphoreSlim gate, FileStream handle) : IDisposable
    {
        public void Dispose()
        {
            handle.Dispose();
            gate.Release();
        }
    }
}
