using System.Data.Common;

namespace StateKit.Sql;

/// <content>Connections and retries: every operation runs through RunAsync, which retries transient failures with backoff and reports what may have been applied.</content>
internal sealed partial class SqlStateEngine
{
    private async ValueTask<T> RunAsync<T>(string operation, string? key, bool write, Func<DbConnection, CancellationToken, ValueTask<T>> action, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        for (var attempt = 1; ; attempt++)
        {
            DbConnection? connection = null;
            var sent = false;
            try
            {
                connection = await _dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
                await EnsureSchemaAsync(connection, cancellationToken).ConfigureAwait(false);
                sent = true;
                var result = await action(connection, cancellationToken).ConfigureAwait(false);
                await _dialect.ReleaseAsync(connection, broken: false).ConfigureAwait(false);
                if (write)
                {
                    _dialect.Written();
                }

                return result;
            }
            catch (Exception ex) when (ex is not StateStoreException && !cancellationToken.IsCancellationRequested && _dialect.Classify(ex) is var failure && failure != SqlFailure.Unknown)
            {
                if (connection is not null)
                {
                    await _dialect.ReleaseAsync(connection, broken: true).ConfigureAwait(false);
                }

                var indeterminate = write && sent && failure == SqlFailure.TransientMaybeApplied;
                var retry = failure == SqlFailure.TransientNotApplied || (failure == SqlFailure.TransientMaybeApplied && !indeterminate);
                if (retry && attempt < _dialect.MaxAttempts)
                {
                    var delay = Backoff(attempt);
                    SqlLog.Retrying(_logger, ex, _guard.StoreName, operation, attempt, _dialect.MaxAttempts, delay.TotalMilliseconds);
                    _guard.RecordRetry(operation);
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (failure == SqlFailure.Configuration)
                {
                    SqlLog.GaveUp(_logger, ex, _guard.StoreName, operation, attempt, false);
                    throw new StateStoreConfigurationException(_guard.StoreName, operation, key, ex.Message, ex);
                }

                if (failure == SqlFailure.Corrupt)
                {
                    throw new StateCorruptedException(_guard.StoreName, operation, key, ex.Message, _dialect.Location, ex);
                }

                SqlLog.GaveUp(_logger, ex, _guard.StoreName, operation, attempt, indeterminate);
                var detail = retry ? $"it still failed after {attempt} attempts: {ex.Message}" : $"it failed: {ex.Message}";
                throw new StateStoreUnavailableException(_guard.StoreName, operation, key, detail, ex, indeterminate);
            }
            catch
            {
                if (connection is not null)
                {
                    await _dialect.ReleaseAsync(connection, broken: false).ConfigureAwait(false);
                }

                throw;
            }
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(_dialect.MaxRetryDelay.TotalMilliseconds, _dialect.RetryDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));

        // Full jitter (AWS architecture blog): spreads reconnect storms of many instances.
        return TimeSpan.FromMilliseconds((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2));
    }
}
