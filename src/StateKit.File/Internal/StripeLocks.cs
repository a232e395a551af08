namespace StateKit.File.Internal;

/// <summary>
/// Striped locks that serialize writers of the same key within this process (a semaphore) and across
/// processes (an exclusive OS lock on a lock file: <c>flock</c> on Unix, a share-none handle on Windows).
/// A fixed number of lock files is used, so nothing accumulates as keys come and go.
/// </summary>
internal sealed class StripeLocks : IDisposable
{
    public const int Count = 64;
    private readonly SemaphoreSlim[] _gates = new SemaphoreSlim[Count];
    private readonly string _directory;
    private readonly TimeSpan _timeout;

    public StripeLocks(string directory, TimeSpan timeout)
    {
        _directory = directory;
        _timeout = timeout;
        for (var i = 0; i < Count; i++)
        {
            _gates[i] = new SemaphoreSlim(1, 1);
        }
    }

    public string TempPath(int stripe) => Path.Combine(_directory, $"{stripe:D2}.tmp");

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
                    var handle = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
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
            using var handle = new FileStream(Path.Combine(_directory, $"{stripe:D2}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
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
