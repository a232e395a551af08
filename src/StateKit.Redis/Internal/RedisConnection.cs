using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace StateKit.Redis.Internal;

/// <summary>
/// The multiplexer a Redis store uses. An owned one is created on first use with abort-on-connect-fail off (the
/// app starts while Redis is still coming up) and replaced when it has stayed disconnected longer than
/// <see cref="RedisStateStoreOptions.RebuildAfter"/>; a multiplexer given by the application is used as is.
/// </summary>
internal sealed class RedisConnection : IAsyncDisposable
{
    private readonly ConfigurationOptions? _configuration;
    private readonly int _database;
    private readonly long _rebuildAfterTicks;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ILogger _logger;
    private int _down;
    private IConnectionMultiplexer? _multiplexer;
    private long _downSince;
    private int _rebuilds;
    private volatile bool _disposed;

    public RedisConnection(IConnectionMultiplexer multiplexer, int database, ILogger? logger)
    {
        _logger = logger ?? NullLogger.Instance;
        _multiplexer = multiplexer;
        _database = database;
    }

    public RedisConnection(ConfigurationOptions configuration, int database, TimeSpan rebuildAfter, ILogger? logger)
    {
        _logger = logger ?? NullLogger.Instance;
        configuration.AbortOnConnectFail = false;
        _configuration = configuration;
        _database = database;
        _rebuildAfterTicks = (long)(rebuildAfter.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Gets how many times an owned multiplexer was replaced.</summary>
    public int Rebuilds => Volatile.Read(ref _rebuilds);

    public async ValueTask<IDatabase> DatabaseAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var multiplexer = Volatile.Read(ref _multiplexer) ?? await ConnectAsync(null, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        return multiplexer.GetDatabase(_database);
    }

    /// <summary>An operation succeeded: the connection is up (logged once when it was down).</summary>
    public void Succeeded()
    {
        if (Volatile.Read(ref _down) == 1 && Interlocked.Exchange(ref _down, 0) == 1)
        {
            Volatile.Write(ref _downSince, 0);
            Log.Reconnected(_logger);
        }
    }

    /// <summary>
    /// An operation failed for a connection reason (logged once until an operation succeeds again). When the store owns
    /// the multiplexer and it has been down for longer than the rebuild interval, a new one replaces it (at most once
    /// per interval).
    /// </summary>
    /// <param name="operation">The operation that failed.</param>
    /// <param name="failure">Why.</param>
    /// <returns>A task.</returns>
    public async ValueTask FailedAsync(string operation, Exception failure)
    {
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            Log.ConnectionFailed(_logger, failure, operation);
        }

        var current = Volatile.Read(ref _multiplexer);
        if (_configuration is null || current is null || _disposed || current.IsConnected)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        var since = Interlocked.CompareExchange(ref _downSince, now, 0);
        if (since == 0 || now - since < _rebuildAfterTicks)
        {
            return;
        }

        Volatile.Write(ref _downSince, now);
        await ConnectAsync(current, Stopwatch.GetElapsedTime(since, now), CancellationToken.None).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (_configuration is not null && Interlocked.Exchange(ref _multiplexer, null) is { } owned)
        {
            await owned.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            owned.Dispose();
        }
    }

    private async ValueTask<IConnectionMultiplexer> ConnectAsync(IConnectionMultiplexer? replacing, TimeSpan downFor, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = Volatile.Read(ref _multiplexer);
            if (current is not null && !ReferenceEquals(current, replacing))
            {
                return current;
            }

            var created = await ConnectionMultiplexer.ConnectAsync(_configuration!.Clone()).ConfigureAwait(false);
            Volatile.Write(ref _multiplexer, created);
            if (replacing is not null)
            {
                Log.Rebuilt(_logger, downFor.TotalSeconds, Interlocked.Increment(ref _rebuilds));
                _ = Task.Run(async () =>
                {
                    await replacing.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
                    replacing.Dispose();
                });
            }

            return created;
        }
        finally
        {
            _gate.Release();
        }
    }
}
