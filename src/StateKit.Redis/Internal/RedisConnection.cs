using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace StateKit.Redis.Internal;

/// <summary>
/// The multiplexer a Redis store uses. An owned one is created on first use with abort-on-connect-fail off (the app
/// starts while Redis is still coming up) and fail-fast backlog (a command issued while disconnected fails at once and
/// is never sent later); StackExchange.Redis reconnects it on its own. A multiplexer given by the application is used
/// as is and never closed.
/// </summary>
internal sealed class RedisConnection : IAsyncDisposable
{
    private readonly ConfigurationOptions? _configuration;
    private readonly int _database;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ILogger _logger;
    private int _down;
    private int _topology; // 0: not known yet, 1: one server (with replicas), 2: a Redis Cluster
    private IConnectionMultiplexer? _multiplexer;
    private volatile bool _disposed;

    public RedisConnection(IConnectionMultiplexer multiplexer, int database, ILogger? logger)
    {
        _logger = logger ?? NullLogger.Instance;
        _multiplexer = multiplexer;
        _database = database;
    }

    public RedisConnection(ConfigurationOptions configuration, int database, TimeSpan operationTimeout, ILogger? logger)
    {
        _logger = logger ?? NullLogger.Instance;
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.AsyncTimeout = (int)Math.Min(int.MaxValue, Math.Ceiling(operationTimeout.TotalMilliseconds));
        _configuration = configuration;
        _database = database;
    }

    /// <summary>Gets the logger of the store.</summary>
    public ILogger Logger => _logger;

    public async ValueTask<IDatabase> DatabaseAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var multiplexer = Volatile.Read(ref _multiplexer) ?? await ConnectAsync(cancellationToken).ConfigureAwait(false);
        return multiplexer.GetDatabase(_database);
    }

    /// <summary>
    /// Whether <paramref name="multiplexer"/> talks to a Redis Cluster, decided once a server is connected (the store
    /// refuses a cluster: its scripts, lists and key listing span hash slots, which a cluster refuses or answers in part).
    /// </summary>
    public bool IsCluster(IConnectionMultiplexer multiplexer)
    {
        var known = Volatile.Read(ref _topology);
        if (known != 0)
        {
            return known == 2;
        }

        foreach (var server in multiplexer.GetServers())
        {
            if (server.IsConnected)
            {
                known = server.ServerType == ServerType.Cluster ? 2 : Math.Max(known, 1);
            }
        }

        if (known != 0)
        {
            Volatile.Write(ref _topology, known);
        }

        return known == 2;
    }

    /// <summary>An operation succeeded: the connection is up (logged once when it was down).</summary>
    public void Succeeded()
    {
        if (Volatile.Read(ref _down) == 1 && Interlocked.Exchange(ref _down, 0) == 1)
        {
            Log.Reconnected(_logger);
        }
    }

    /// <summary>An operation failed for a connection reason (logged once until an operation succeeds again).</summary>
    /// <param name="operation">The operation that failed.</param>
    /// <param name="failure">Why.</param>
    public void Failed(string operation, Exception failure)
    {
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            Log.ConnectionFailed(_logger, failure, operation);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (_configuration is not null && Interlocked.Exchange(ref _multiplexer, null) is { } owned)
        {
            await owned.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            await owned.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask<IConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _multiplexer) is { } current)
            {
                return current;
            }

            var created = await ConnectionMultiplexer.ConnectAsync(_configuration!.Clone()).ConfigureAwait(false);
            if (_disposed)
            {
                await created.DisposeAsync().ConfigureAwait(false);
                throw new ObjectDisposedException(nameof(RedisConnection));
            }

            Volatile.Write(ref _multiplexer, created);
            return created;
        }
        finally
        {
            _gate.Release();
        }
    }
}
