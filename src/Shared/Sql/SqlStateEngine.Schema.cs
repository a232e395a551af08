using System.Data.Common;

namespace StateKit.Sql;

/// <content>The schema: created or checked once per store, and the health ping.</content>
internal sealed partial class SqlStateEngine
{
    private async ValueTask EnsureSchemaAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (_schemaReady)
        {
            return;
        }

        await _schemaLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_schemaReady)
            {
                return;
            }

            await using var transaction = await _dialect.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
            await _dialect.LockSchemaAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            var version = 0;
            if (await _dialect.SchemaTableExistsAsync(connection, transaction, cancellationToken).ConfigureAwait(false))
            {
                using var read = new PooledCommand(_dialect.Command(connection, $"SELECT version FROM {_dialect.Tables.Schema} WHERE id = 1", cacheable: false), _dialect);
                read.Cmd.Transaction = transaction;
                var found = await read.Cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                version = found is null or DBNull ? 0 : Convert.ToInt32(found, System.Globalization.CultureInfo.InvariantCulture);
            }

            if (version > _dialect.SchemaVersion)
            {
                throw new StateSchemaVersionException(_guard.StoreName, _dialect.Location, version, _dialect.SchemaVersion);
            }

            for (; version < _dialect.SchemaVersion; version++)
            {
                foreach (var statement in _dialect.Migration(version))
                {
                    using var migrate = new PooledCommand(_dialect.Command(connection, statement, cacheable: false), _dialect);
                    migrate.Cmd.Transaction = transaction;
                    await migrate.Cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                using var mark = new PooledCommand(_dialect.Command(connection, $"UPDATE {_dialect.Tables.Schema} SET version = {version + 1} WHERE id = 1", cacheable: false), _dialect);
                mark.Cmd.Transaction = transaction;
                await mark.Cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _schemaReady = true;
        }
        finally
        {
            _schemaLock.Release();
        }
    }

    /// <summary>Runs <c>SELECT 1</c> and the schema check; for health checks.</summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The schema version in use.</returns>
    public ValueTask<int> PingAsync(CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        return RunAsync("Ping", null, write: false, async (c, ct) =>
        {
            using var cmd = new PooledCommand(_dialect.Command(c, "SELECT 1", cacheable: true), _dialect);
            await cmd.Cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
            return _dialect.SchemaVersion;
        }, cancellationToken);
    }
}
