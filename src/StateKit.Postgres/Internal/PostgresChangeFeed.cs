using Microsoft.Extensions.Logging;
using Npgsql;
using StateKit.Internal;

namespace StateKit.Postgres.Internal;

/// <summary>
/// The PostgreSQL store's change feed: one connection per store LISTENs on the tables' channel, where the tables'
/// triggers announce every committed change (schema version 2), and hands the notices of this store's namespace to
/// the subscriptions. A lost connection is reported to every subscription as <see cref="StateStoreChangeKind.Resync"/>
/// and reconnected with backoff.
/// </summary>
internal sealed class PostgresChangeFeed(NpgsqlDataSource dataSource, string channel, string ns, Func<CancellationToken, ValueTask> ensureSchema, ILogger? logger)
    : ServerChangeFeed(ensureSchema, logger)
{
    protected override async ValueTask<Func<CancellationToken, Task>> StartWatchingAsync(CancellationToken cancellationToken)
    {
        NpgsqlConnection connection;
        try
        {
            connection = await ListenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new StateStoreUnavailableException("postgres", "Subscribe", null, "could not LISTEN for changes: " + ex.Message, ex);
        }

        return token => RunAsync(connection, token);
    }

    private async Task<NpgsqlConnection> ListenAsync(CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            connection.Notification += (_, e) => OnNotification(e.Payload);
            await using var listen = new NpgsqlCommand($"LISTEN \"{channel}\"", connection);
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task RunAsync(NpgsqlConnection connection, CancellationToken token)
    {
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
                Logger.LogWarning(ex, "The PostgreSQL change feed lost its connection; subscribers resync and it reconnects.");
            }

            await connection.DisposeAsync().ConfigureAwait(false);
            Fanout.Resync();
            while (!token.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(delay, token).ConfigureAwait(false);
                    connection = await ListenAsync(token).ConfigureAwait(false);
                    Fanout.Resync(); // notices sent while reconnecting are lost
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
                    Logger.LogDebug(ex, "The PostgreSQL change feed could not reconnect yet.");
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
        if (rest.StartsWith(ns, StringComparison.Ordinal) && rest.Length > ns.Length && rest[ns.Length] == '|')
        {
            Fanout.Publish(payload[0], rest[(ns.Length + 1)..].ToString(), version);
        }
    }
}
