using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using StateKit.Internal;

namespace StateKit.Sqlite.Internal;

/// <summary>
/// The SQLite store's change feed: the triggers of schema version 2 log every committed change, and one watcher per
/// store polls the log for rows after the last one it saw (any process on the same file writes them). When rows it had
/// not read yet were pruned, or the log was recreated, the subscriptions get <see cref="StateStoreChangeKind.Resync"/>.
/// </summary>
internal sealed class SqliteChangeFeed(SqliteDialect dialect, string ns, TimeSpan interval, Func<CancellationToken, ValueTask> ensureSchema, ILogger? logger)
    : ServerChangeFeed(ensureSchema, logger)
{
    private const int Page = 1000;
    private long _last;
    private DateTime _prunedAt;

    protected override async ValueTask<Func<CancellationToken, Task>> StartWatchingAsync(CancellationToken cancellationToken)
    {
        _last = await QueryAsync($"SELECT COALESCE(MAX(seq), 0) FROM {dialect.ChangesTable}", cancellationToken).ConfigureAwait(false);
        return RunAsync;
    }

    private async Task RunAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                while (await PollAsync(token).ConfigureAwait(false))
                {
                    // a full page: read the next one at once
                }

                await PruneAsync(token).ConfigureAwait(false);
                await Task.Delay(interval, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Logger.LogWarning(ex, "The SQLite change feed could not read the change log; subscribers resync.");
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

    /// <summary>Reads one page of the log after the last row seen; true when the page was full.</summary>
    private async ValueTask<bool> PollAsync(CancellationToken cancellationToken)
    {
        var connection = (SqliteConnection)await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var broken = true;
        var rows = 0;
        try
        {
            await using var read = connection.CreateCommand();
            read.CommandText = $"SELECT seq, ns, key, kind, version FROM {dialect.ChangesTable} WHERE seq > $last ORDER BY seq LIMIT {Page}";
            read.Parameters.AddWithValue("$last", _last);
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var seq = reader.GetInt64(0);
                    if (rows == 0 && seq > _last + 1)
                    {
                        Fanout.Resync(); // rows this watcher had not read were pruned
                    }

                    rows++;
                    _last = seq;
                    if (reader.GetString(1) == ns)
                    {
                        Fanout.Publish(reader.GetString(3)[0], reader.GetString(2), reader.GetInt64(4));
                    }
                }
            }

            if (rows == 0)
            {
                await using var max = connection.CreateCommand();
                max.CommandText = $"SELECT COALESCE(MAX(seq), 0) FROM {dialect.ChangesTable}";
                var newest = (long)(await max.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                if (newest < _last)
                {
                    _last = newest; // the log was recreated (the file replaced): everything may have changed
                    Fanout.Resync();
                }
            }

            broken = false;
        }
        finally
        {
            await dialect.ReleaseAsync(connection, broken).ConfigureAwait(false);
        }

        return rows == Page;
    }

    /// <summary>Once a minute the watcher also runs the writers' upkeep (a process that only reads still bounds the log).</summary>
    private async ValueTask PruneAsync(CancellationToken cancellationToken)
    {
        if (DateTime.UtcNow - _prunedAt < TimeSpan.FromMinutes(1))
        {
            return;
        }

        _prunedAt = DateTime.UtcNow;
        await dialect.MaintainAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<long> QueryAsync(string sql, CancellationToken cancellationToken)
    {
        var connection = (SqliteConnection)await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var broken = true;
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            broken = false;
            return result is long value ? value : 0;
        }
        finally
        {
            await dialect.ReleaseAsync(connection, broken).ConfigureAwait(false);
        }
    }
}
