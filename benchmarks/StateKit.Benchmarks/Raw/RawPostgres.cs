using Npgsql;

namespace StateKit.Benchmarks.Raw;

/// <summary>
/// Npgsql as its documentation recommends: one pooled <see cref="NpgsqlDataSource"/>, a command per call, automatic
/// statement preparation, an <see cref="NpgsqlBatch"/> for many writes. Tables have the store's shape.
/// </summary>
internal sealed class RawPostgres : IRawStore
{
    private const string Upsert = "INSERT INTO bench_raw (ns, key, value, version) VALUES ('bench', @key, @value, 1) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = bench_raw.version + 1 RETURNING version";
    private readonly NpgsqlDataSource _source;

    private RawPostgres(NpgsqlDataSource source) => _source = source;

    public static async Task<RawPostgres> CreateAsync(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
        builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        var raw = new RawPostgres(builder.Build());
        await using var setup = raw._source.CreateCommand("""
            DROP TABLE IF EXISTS bench_raw, bench_raw_lists, bench_raw_items;
            CREATE TABLE bench_raw (ns text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, value bytea NOT NULL, version bigint NOT NULL, expires_at bigint, PRIMARY KEY (ns, key));
            CREATE TABLE bench_raw_lists (ns text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, tail bigint NOT NULL, expires_at bigint, PRIMARY KEY (ns, key));
            CREATE TABLE bench_raw_items (ns text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, seq bigint NOT NULL, value bytea NOT NULL, PRIMARY KEY (ns, key, seq));
            """);
        await setup.ExecuteNonQueryAsync();
        return raw;
    }

    public async ValueTask<byte[]?> GetAsync(string key)
    {
        await using var cmd = _source.CreateCommand("SELECT value, version, expires_at FROM bench_raw WHERE ns = 'bench' AND key = @key AND (expires_at IS NULL OR expires_at > @now)");
        cmd.Parameters.AddWithValue("key", key);
        cmd.Parameters.AddWithValue("now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await using var reader = await cmd.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (byte[])reader.GetValue(0) : null;
    }

    public async ValueTask<long> SetAsync(string key, byte[] value)
    {
        await using var cmd = _source.CreateCommand(Upsert);
        cmd.Parameters.AddWithValue("key", key);
        cmd.Parameters.AddWithValue("value", value);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    public async ValueTask<long> SetIfVersionAsync(string key, byte[] value, long expected)
    {
        await using var cmd = _source.CreateCommand("UPDATE bench_raw SET value = @value, version = version + 1 WHERE ns = 'bench' AND key = @key AND version = @expected AND expires_at IS NULL RETURNING version");
        cmd.Parameters.AddWithValue("value", value);
        cmd.Parameters.AddWithValue("key", key);
        cmd.Parameters.AddWithValue("expected", expected);
        return await cmd.ExecuteScalarAsync() is long version ? version : -1;
    }

    public async ValueTask SetManyAsync(IReadOnlyList<string> keys, byte[] value)
    {
        await using var connection = await _source.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection);
        foreach (var key in keys)
        {
            var command = new NpgsqlBatchCommand(Upsert);
            command.Parameters.AddWithValue("key", key);
            command.Parameters.AddWithValue("value", value);
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync();
    }

    public async ValueTask<long> AppendAsync(string key, byte[] item)
    {
        await using var connection = await _source.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        long length;
        await using (var head = new NpgsqlCommand("INSERT INTO bench_raw_lists (ns, key, tail) VALUES ('bench', @key, 1) ON CONFLICT (ns, key) DO UPDATE SET tail = bench_raw_lists.tail + 1 RETURNING tail", connection, transaction))
        {
            head.Parameters.AddWithValue("key", key);
            length = (long)(await head.ExecuteScalarAsync())!;
        }

        await using (var insert = new NpgsqlCommand("INSERT INTO bench_raw_items (ns, key, seq, value) VALUES ('bench', @key, @seq, @value)", connection, transaction))
        {
            insert.Parameters.AddWithValue("key", key);
            insert.Parameters.AddWithValue("seq", length - 1);
            insert.Parameters.AddWithValue("value", item);
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return length;
    }

    public async ValueTask<IReadOnlyList<byte[]>> LastAsync(string key, int count)
    {
        await using var cmd = _source.CreateCommand("SELECT value FROM bench_raw_items WHERE ns = 'bench' AND key = @key ORDER BY seq DESC LIMIT @count");
        cmd.Parameters.AddWithValue("key", key);
        cmd.Parameters.AddWithValue("count", count);
        var items = new List<byte[]>(count);
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add((byte[])reader.GetValue(0));
            }
        }

        items.Reverse();
        return items;
    }

    public async ValueTask DisposeAsync()
    {
        await using (var drop = _source.CreateCommand("DROP TABLE IF EXISTS bench_raw, bench_raw_lists, bench_raw_items"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await _source.DisposeAsync();
    }
}
