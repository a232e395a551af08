using System.Text;
using Microsoft.Extensions.Logging;
using StateKit.Internal;

namespace StateKit.File.Internal;

/// <summary>
/// The file store's change log: every change of an entry or a list appends one line <c>kind|version|key</c> to
/// <c>changes.log</c> in the store's directory, with one O_APPEND write (so lines of several processes never interleave);
/// watchers (<see cref="FileChangeFeed"/>) read what was appended since they last looked. Past
/// <see cref="MaxBytes"/> the writer that notices moves the log aside and starts a new one (watchers resync).
/// </summary>
internal sealed class FileChangeLog(string path, ILogger logger, UnixFileMode fileMode = PrivateFiles.OwnerOnly)
{
    public const long MaxBytes = 8L * 1024 * 1024;

    public string Path { get; } = path;

    /// <summary>Gets or sets a failure to raise instead of appending (fault-injection tests only).</summary>
    internal static Exception? InjectFailure { get; set; }

    /// <summary>Whether a notice was lost and the watchers have not yet been told to resync by a line in the log.</summary>
    private volatile bool _lost;

    /// <summary>
    /// Appends a notice. A failure is logged and not thrown (the change itself is already durable), but never silent to
    /// the watchers: the log is moved aside at once (a metadata change that needs no free block), which makes every
    /// watcher that had read it resync, and the next line appended is preceded by a resync line for the others.
    /// </summary>
    public void Append(char kind, long version, string key)
    {
        var text = $"{kind}|{version}|{key}\n";
        var lost = _lost;
        var line = Encoding.UTF8.GetBytes(lost ? "r|0|\n" + text : text);
        try
        {
            if (InjectFailure is { } injected)
            {
                throw injected;
            }

            using var log = PrivateFiles.Open(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, fileMode);
            log.Write(line);
            if (lost)
            {
                _lost = false;
            }

            if (log.Length > MaxBytes)
            {
                System.IO.File.Move(Path, Path + ".old", overwrite: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _lost = true;
            logger.LogWarning(ex, "The file store could not append to its change log; its watchers are told to resync.");
            try
            {
                System.IO.File.Move(Path, Path + ".old", overwrite: true);
            }
            catch (Exception moveFailed) when (moveFailed is IOException or UnauthorizedAccessException)
            {
                // the resync line before the next notice still reaches every watcher
            }
        }
    }
}

/// <summary>The file store's change feed: polls the change log for lines other processes (and this one) appended.</summary>
internal sealed class FileChangeFeed(FileChangeLog log, TimeSpan interval, ILogger? logger) : ServerChangeFeed(_ => ValueTask.CompletedTask, logger)
{
    private long _offset;
    private byte[] _partial = [];

    protected override ValueTask<Func<CancellationToken, Task>> StartWatchingAsync(CancellationToken cancellationToken)
    {
        _offset = Length();
        return ValueTask.FromResult<Func<CancellationToken, Task>>(RunAsync);
    }

    private long Length()
    {
        var info = new FileInfo(log.Path);
        return info.Exists ? info.Length : 0;
    }

    private async Task RunAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                Poll();
                await Task.Delay(interval, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Logger.LogWarning(ex, "The file change feed could not read the change log; subscribers resync.");
                Fanout.Resync();
                try
                {
                    await Task.Delay(interval, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Poll()
    {
        var length = Length();
        if (length < _offset)
        {
            // The log was moved aside and restarted: what was appended to the old one after the last poll is unknown.
            _offset = 0;
            _partial = [];
            Fanout.Resync();
        }

        if (length == _offset)
        {
            return;
        }

        using var file = new FileStream(log.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        file.Position = _offset;
        var buffer = new byte[length - _offset];
        var read = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        _offset += read;
        var data = _partial.Length == 0 ? buffer.AsSpan(0, read) : (byte[])[.. _partial, .. buffer.AsSpan(0, read)];
        var end = data.LastIndexOf((byte)'\n');
        _partial = data[(end + 1)..].ToArray(); // a line still being written
        foreach (var range in data[..Math.Max(end, 0)].Split((byte)'\n'))
        {
            Parse(Encoding.UTF8.GetString(data[..Math.Max(end, 0)][range]));
        }
    }

    private void Parse(string line)
    {
        var first = line.IndexOf('|', StringComparison.Ordinal);
        var second = first < 0 ? -1 : line.IndexOf('|', first + 1);
        if (first == 1 && second > 0 && long.TryParse(line.AsSpan(2, second - 2), out var version))
        {
            Fanout.Publish(line[0], line[(second + 1)..], version);
        }
    }
}
