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
/// <remarks>
/// Registration (schema version 5): the triggers notify only while a listening store has a live row in the listeners
/// table, so writes with nobody listening do not take PostgreSQL's commit-order lock for notifying transactions. The
/// feed registers after its LISTEN, then waits until every transaction that was running at that moment has ended: a
/// writer whose trigger looked before the registration committed had its transaction id by then (the trigger runs
/// after the row is written), so once the wait is over every later commit notifies. Feeds start (and restart after a
/// lost connection) only through that wait, so a subscriber never misses a change that commits after it subscribed.
/// The row's expiry is pushed forward every <c>heartbeat</c>; a row found expired (the process stalled past its
/// expiry, or someone removed it) is registered again and reported as a resync, since changes may have gone
/// unannounced meanwhile.
/// </remarks>
internal sealed class PostgresChangeFeed(NpgsqlDataSource dataSource, string channel, string listeners, string ns, Func<CancellationToken, ValueTask> ensureSchema, ILogger? logger)
    : ServerChangeFeed(ensureSchema, logger)
{
    /// <summary>How long a registration lives without a heartbeat.</summary>
    private static readonly TimeSpan RegistrationLifetime = TimeSpan.FromSeconds(60);

    /// <summary>The longest wait for the transactions running at registration; past it the feed starts anyway and says so.</summary>
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(10);

    /// <summary>How often the registration's expiry is pushed forward.</summary>
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(10);

    private readonly Guid _id = Guid.NewGuid();

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
            await using (var listen = new NpgsqlCommand($"LISTEN \"{channel}\"", connection))
            {
                await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await RegisterAsync(connection, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Registers this feed (after its LISTEN) and waits out the transactions running at that moment.</summary>
    private async Task RegisterAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // Two statements, each committed on its own: the wait must start after the registration is visible.
        await using (var register = new NpgsqlCommand(
            $"DELETE FROM {listeners} WHERE expires_at < now() - interval '1 hour'; " +
            $"INSERT INTO {listeners} (id, expires_at) VALUES (@id, now() + @life) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at",
            connection))
        {
            register.Parameters.AddWithValue("id", _id);
            register.Parameters.AddWithValue("life", RegistrationLifetime);
            await register.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var snapshot = new NpgsqlCommand("SELECT pg_current_snapshot()::text", connection);
        var running = (string)(await snapshot.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        await using var wait = new NpgsqlCommand("SELECT count(*) FROM pg_snapshot_xip(@s::pg_snapshot) AS x WHERE pg_xact_status(x) = 'in progress'", connection);
        wait.Parameters.AddWithValue("s", running);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((long)(await wait.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0)
        {
            if (clock.Elapsed > DrainLimit)
            {
                Logger.LogWarning("The PostgreSQL change feed started while transactions older than its registration were still running after {Seconds} s; changes they commit may not be announced.", DrainLimit.TotalSeconds);
                break;
            }

            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Pushes the registration's expiry forward; <see langword="false"/> if it had expired (or was removed).</summary>
    private async Task<bool> RenewAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var renew = new NpgsqlCommand($"UPDATE {listeners} SET expires_at = now() + @life WHERE id = @id AND expires_at > now()", connection);
        renew.Parameters.AddWithValue("id", _id);
        renew.Parameters.AddWithValue("life", RegistrationLifetime);
        return await renew.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>Removes the registration when the feed stops (on a connection of its own: the listening one was just cancelled).</summary>
    private async Task UnregisterAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await using var remove = dataSource.CreateCommand($"DELETE FROM {listeners} WHERE id = @id");
            remove.Parameters.AddWithValue("id", _id);
            await remove.ExecuteNonQueryAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or InvalidOperationException)
        {
            Logger.LogDebug(ex, "The PostgreSQL change feed could not remove its registration; it expires by itself.");
        }
    }

    private async Task RunAsync(NpgsqlConnection connection, CancellationToken token)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (!token.IsCancellationRequested)
        {
            try
            {
                var renewed = System.Diagnostics.Stopwatch.StartNew();
                while (true)
                {
                    var due = Heartbeat - renewed.Elapsed;
                    if (due > TimeSpan.Zero && await connection.WaitAsync(due, token).ConfigureAwait(false))
                    {
                        continue; // a notice (steady traffic must not hold the renewal back)
                    }

                    if (!await RenewAsync(connection, token).ConfigureAwait(false))
                    {
                        Logger.LogWarning("The PostgreSQL change feed's registration had expired; it registers again and subscribers resync.");
                        await RegisterAsync(connection, token).ConfigureAwait(false);
                        Fanout.Resync();
                    }

                    renewed.Restart();
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                await UnregisterAsync().ConfigureAwait(false);
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
