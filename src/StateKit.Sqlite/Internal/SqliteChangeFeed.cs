using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Internal;

namespace StateKit.Sqlite.Internal;

/// <summary>
/// The SQLite store's change feed: the triggers of schema version 2 log every committed change, and one watcher per
/// store polls the log for rows after the last one it saw (any process on the same file writes them). When rows it had
/// not read yet were pruned, or the log was recreated, the subscriptions get <see cref="StateStoreChangeKind.Resync"/>.
/// </summary>
internal sealed class SqliteChangeFeed : IAsyncDisposable
{
    private const int Page = 1000;
    private static readonly TimeSpan Retention = TimeSpan.FromMinutes(10);
    private readonly SqliteDialect _dialect;
    private readonly string _namespace;
    private readonly TimeSpan _interval;
    private readonly Func<CancellationToken, ValueTask> _ensureSchema;
    private readonly ILogger _logger;
    private readonly InProcessChangeFeed _fanout;
    private readonly SemaphoreSlim _starting = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _last;
    private DateTime _prunedAt;

    public SqliteChangeFeed(SqliteDialect dialect, string ns, TimeSpan interval, Func<CancellationToken, ValueTask> ensureSchema, ILogger? logger)
    {
        _dialect = dialect;
        _namespace = ns;
        _interval = interval;
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
                await _ensureSchema(cancellationToken).ConfigureAwait(false);
                _last = await QueryAsync($"SELECT COALESCE(MAX(seq), 0) FROM {_dialect.ChangesTable}", cancellationToken).ConfigureAwait(false);
                _loop = Task.Run(RunAsync);
            }
        }
        finally
        {
            _starting.Release();
        }
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                while (await PollAsync(token).ConfigureAwait(false))
                {
                    // a full page: read the next one at once
                }

                await PruneAsync(token).ConfigureAwait(false);
                await Task.Delay(_interval, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "The SQLite change feed could not read the change log; subscribers resync.");
                _fanout.Resync();
                try
                {
                    await Task.Delay(_interval, token).ConfigureAwait(false);
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
        var connection = (SqliteConnection)await _dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var broken = true;
        var rows = 0;
        try
        {
            await using var read = connection.CreateCommand();
            read.CommandText = $"SELECT seq, ns, key, kind, version FROM {_dialect.ChangesTable} WHERE seq > $last ORDER BY seq LIMIT {Page}";
            read.Parameters.AddWithValue("$last", _last);
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var seq = reader.GetInt64(0);
                    if (rows == 0 && seq > _last + 1)
                    {
                        _fanout.Resync(); // rows this watcher had not read were pruned
                    }

                    rows++;
                    _last = seq;
                    if (reader.GetString(1) == _namespace)
                    {
                        Publish(reader.GetString(2), reader.GetString(3), reader.GetInt64(4));
                    }
                }
            }

            if (rows == 0)
            {
                await using var max = connection.CreateCommand();
                max.CommandText = $"SELECT COALESCE(MAX(seq), 0) FROM {_dialect.ChangesTable}";
                var newest = (long)(await max.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                if (newest < _last)
                {
                    _last = newest; // the log was recreated (the file replaced): everything may have changed
                    _fanout.Resync();
                }
            }

            broken = false;
        }
        finally
        {
            await _dialect.ReleaseAsync(connection, broken).ConfigureAwait(false);
        }

        return rows == Page;
    }

    private async ValueTask PruneAsync(CancellationToken cancellationToken)
    {
        if (DateTime.UtcNow - _prunedAt < TimeSpan.FromMinutes(1))
        {
            return;
        }

        _prunedAt = DateTime.UtcNow;
        await QueryAsync(
            $"DELETE FROM {_dialect.ChangesTable} WHERE at < CAST(strftime('%s', 'now') AS INTEGER) - {(long)Retention.TotalSeconds}; SELECT changes()",
            cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<long> QueryAsync(string sql, CancellationToken cancellationToken)
    {
        var connection = (SqliteConnection)await _dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
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
            await _dialect.ReleaseAsync(connection, broken).ConfigureAwait(false);
        }
    }

    private void Publish(string key, string kind, long version)
    {
        switch (kind)
        {
            case "s": _fanout.Publish(key, StateStoreChangeKind.Set, version); break;
            case "d": _fanout.Publish(key, StateStoreChangeKind.Delete, version); break;
            case "a": _fanout.Publish(key, StateStoreChangeKind.ListAppend, version); break;
            case "l": _fanout.Publish(key, StateStoreChangeKind.ListChange, version); break;
        }
    }
}
