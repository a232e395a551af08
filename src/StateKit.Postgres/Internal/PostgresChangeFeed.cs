using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using StateKit.Internal;

namespace StateKit.Postgres.Internal;

/// <summary>
/// The PostgreSQL store's change feed: one connection per store LISTENs on the tables' channel, where the tables'
/// triggers announce every committed change (schema version 2), and hands the notices of this store's namespace to
/// the subscriptions. A lost connection is reported to every subscription as <see cref="StateStoreChangeKind.Resync"/>
/// and reconnected with backoff.
/// </summary>
internal sealed class PostgresChangeFeed : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _channel;
    private readonly string _namespace;
    private readonly Func<CancellationToken, ValueTask> _ensureSchema;
    private readonly ILogger _logger;
    private readonly InProcessChangeFeed _fanout;
    private readonly SemaphoreSlim _starting = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public PostgresChangeFeed(NpgsqlDataSource dataSource, string channel, string ns, Func<CancellationToken, ValueTask> ensureSchema, ILogger? logger)
    {
        _dataSource = dataSource;
        _channel = channel;
        _namespace = ns;
        _ensureSchema = ensureSchema;
        _logger = logger ?? NullLogger.Instance;
        _fanout = new InProcessChangeFeed(_logger);
    }

    public async ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        return await _fanout.SubscribeAsync(prefix, onChange, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }

        _stop.Dispose();
        _starting.Dispose();
    }

    /// <summary>Starts listening (once): the first connection and LISTEN happen here, so a subscriber knows it is listening when this returns.</summary>
    private async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        if (_loop is not null)
        {
            return;
        }

        await _starting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_loop is null)
            {
                await _ensureSchema(cancellationToken).ConfigureAwait(false); // the triggers exist from here on
                NpgsqlConnection connection;
                try
                {
                    connection = await ListenAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    throw new StateStoreUnavailableException("postgres", "Subscribe", null, "could not LISTEN for changes: " + ex.Message, ex);
                }

                _loop = Task.Run(() => RunAsync(connection));
            }
        }
        finally
        {
            _starting.Release();
        }
    }

    private async Task<NpgsqlConnection> ListenAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            connection.Notification += (_, e) => OnNotification(e.Payload);
            await using var listen = new NpgsqlCommand($"LISTEN \"{_channel}\"", connection);
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task RunAsync(NpgsqlConnection connection)
    {
        var token = _stop.Token;
        var delay = TimeSpan.FromMilliseconds(100);
        while (!token.IsCancellationRequested)
        {
            try
            {
                while (true)
                {
                    await connection.WaitAsync(token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "The PostgreSQL change feed lost its connection; subscribers resync and it reconnects.");
            }

            await connection.DisposeAsync().ConfigureAwait(false);
            _fanout.Resync();
            while (!token.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(delay, token).ConfigureAwait(false);
                    connection = await ListenAsync(token).ConfigureAwait(false);
                    _fanout.Resync(); // notices sent while reconnecting are lost
                    delay = TimeSpan.FromMilliseconds(100);
                    break;
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
                    _logger.LogDebug(ex, "The PostgreSQL change feed could not reconnect yet.");
                }
            }
        }

        await connection.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Parses <c>kind|version|ns|key</c> and passes on this namespace's notices.</summary>
    private void OnNotification(string payload)
    {
        var first = payload.IndexOf('|', StringComparison.Ordinal);
        var second = first < 0 ? -1 : payload.IndexOf('|', first + 1);
        if (first != 1 || second < 0 || !long.TryParse(payload.AsSpan(first + 1, second - first - 1), out var version))
        {
            return;
        }

        var rest = payload.AsSpan(second + 1);
        if (!rest.StartsWith(_namespace, StringComparison.Ordinal) || rest.Length <= _namespace.Length || rest[_namespace.Length] != '|')
        {
            return;
        }

        var key = rest[(_namespace.Length + 1)..].ToString();
        switch (payload[0])
        {
            case 's': _fanout.Publish(key, StateStoreChangeKind.Set, version); break;
            case 'd': _fanout.Publish(key, StateStoreChangeKind.Delete, version); break;
            case 'a': _fanout.Publish(key, StateStoreChangeKind.ListAppend, version); break;
            case 'l': _fanout.Publish(key, StateStoreChangeKind.ListChange, version); break;
            case 'r': _fanout.Resync(); break;
        }
    }
}
