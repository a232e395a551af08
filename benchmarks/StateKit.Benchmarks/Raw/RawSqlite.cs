using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace StateKit.Benchmarks.Raw;

/// <summary>
/// Microsoft.Data.Sqlite at its fastest: WAL with <c>synchronous=FULL</c> (the store's durability), each caller on its
/// own open connection with prepared commands kept for reuse. Entries carry a namespace, a version and an expiry;
/// a list is a head row plus one row per item, as in the store.
/// </summary>
internal sealed class RawSqlite : IRawStore
{
    private readonly string _connectionString;
    private readonly ConcurrentBag<Connection> _idle = [];

    private RawSqlite(string path) => _connectionString = $"Data Source={path};Pooling=False";

    public static async Task<RawSqlite> CreateAsync(string path)
    {
        var raw = new RawSqlite(path);
        await using var setup = new SqliteConnection(raw._connectionString);
        await setup.OpenAsync();
        await using var cmd = setup.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS raw (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, version INTEGER NOT NULL, expires_at INTEGER, PRIMARY KEY (ns, key));
            CREATE TABLE IF NOT EXISTS raw_lists (ns TEXT NOT NULL, key TEXT NOT NULL, tail INTEGER NOT NULL, expires_at INTEGER, PRIMARY KEY (ns, key)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS raw_items (ns TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ns, key, seq));
            """;
        await cmd.ExecuteNonQueryAsync();
        return raw;
    }

    public async ValueTask<byte[]?> GetAsync(string key)
    {
        var c = await RentAsync();
        try
        {
            c.Get.Parameters[0].Value = key;
            c.Get.Parameters[1].Value = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await using var reader = await c.Get.ExecuteReaderAsync();
            return await reader.ReadAsync() ? (byte[])reader.GetValue(0) : null;
        }
        finally
        {
            _idle.Add(c);
        }
    }

    public async ValueTask<long> SetAsync(string key, byte[] value)
    {
        var c = await RentAsync();
        try
        {
            return await UpsertAsync(c, key, value);
        }
        finally
        {
            _idle.Add(c);
        }
    }

    public async ValueTask<long> SetIfVersionAsync(string key, byte[] value, long expected)
    {
        var c = await RentAsync();
        try
        {
            c.Update.Parameters[0].Value = key;
            c.Update.Parameters[1].Value = value;
            c.Update.Parameters[2].Value = expected;
            return await c.Update.ExecuteScalarAsync() is long version ? version : -1;
        }
        finally
        {
            _idle.Add(c);
        }
    }

    public async ValueTask SetManyAsync(IReadOnlyList<string> keys, byte[] value)
    {
        var c = await RentAsync();
        try
        {
            await using var transaction = c.Sqlite.BeginTransaction(deferred: false);
            c.Upsert.Transaction = transaction;
            foreach (var key in keys)
            {
                await UpsertAsync(c, key, value);
            }

            await transaction.CommitAsync();
            c.Upsert.Transaction = null;
        }
        finally
        {
            _idle.Add(c);
        }
    }

    public async ValueTask<long> AppendAsync(string key, byte[] item)
    {
        var c = await RentAsync();
        try
        {
            await using var transaction = c.Sqlite.BeginTransaction(deferred: false);
            c.ListUpsert.Transaction = transaction;
            c.ItemInsert.Transaction = transaction;
            c.ListUpsert.Parameters[0].Value = key;
            var length = (long)(await c.ListUpsert.ExecuteScalarAsync())!;
            c.ItemInsert.Parameters[0].Value = key;
            c.ItemInsert.Parameters[1].Value = length - 1;
            c.ItemInsert.Parameters[2].Value = item;
            await c.ItemInsert.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            c.ListUpsert.Transaction = null;
            c.ItemInsert.Transaction = null;
            return length;
        }
        finally
        {
            _idle.Add(c);
        }
    }

    public async ValueTask<IReadOnlyList<byte[]>> LastAsync(string key, int count)
    {
        var c = await RentAsync();
        try
        {
            c.Last.Parameters[0].Value = key;
            c.Last.Parameters[1].Value = count;
            var items = new List<byte[]>(count);
            await using (var reader = await c.Last.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    items.Add((byte[])reader.GetValue(0));
                }
            }

            items.Reverse();
            return items;
        }
        finally
        {
            _idle.Add(c);
        }
    }

    public async ValueTask DisposeAsync()
    {
        while (_idle.TryTake(out var c))
        {
            await c.Sqlite.DisposeAsync();
        }
    }

    private static async ValueTask<long> UpsertAsync(Connection c, string key, byte[] value)
    {
        c.Upsert.Parameters[0].Value = key;
        c.Upsert.Parameters[1].Value = value;
        return (long)(await c.Upsert.ExecuteScalarAsync())!;
    }

    private async ValueTask<Connection> RentAsync() => _idle.TryTake(out var c) ? c : await Connection.OpenAsync(_connectionString);

    private sealed class Connection
    {
        private Connection(SqliteConnection sqlite)
        {
            Sqlite = sqlite;
            Get = Prepare("SELECT value, version, expires_at FROM raw WHERE ns = 'bench' AND key = $key AND (expires_at IS NULL OR expires_at > $now)", "$key", "$now");
            Update = Prepare("UPDATE raw SET value = $value, version = version + 1 WHERE ns = 'bench' AND key = $key AND version = $expected AND expires_at IS NULL RETURNING version", "$key", "$value", "$expected");
            Upsert = Prepare("INSERT INTO raw (ns, key, value, version) VALUES ('bench', $key, $value, 1) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = raw.version + 1 RETURNING version", "$key", "$value");
            ListUpsert = Prepare("INSERT INTO raw_lists (ns, key, tail) VALUES ('bench', $key, 1) ON CONFLICT (ns, key) DO UPDATE SET tail = raw_lists.tail + 1 RETURNING tail", "$key");
            ItemInsert = Prepare("INSERT INTO raw_items (ns, key, seq, value) VALUES ('bench', $key, $seq, $value)", "$key", "$seq", "$value");
            Last = Prepare("SELECT value FROM raw_items WHERE ns = 'bench' AND key = $key ORDER BY seq DESC LIMIT $count", "$key", "$count");
        }

        public SqliteConnection Sqlite { get; }

        public SqliteCommand Get { get; }

        public SqliteCommand Update { get; }

        public SqliteCommand Upsert { get; }

        public SqliteCommand ListUpsert { get; }

        public SqliteCommand ItemInsert { get; }

        public SqliteCommand Last { get; }

        public static async Task<Connection> OpenAsync(string connectionString)
        {
            var sqlite = new SqliteConnection(connectionString);
            await sqlite.OpenAsync();
            await using (var pragma = sqlite.CreateCommand())
            {
                pragma.CommandText = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;";
                await pragma.ExecuteNonQueryAsync();
            }

            return new Connection(sqlite);
        }

        private SqliteCommand Prepare(string sql, params string[] parameters)
        {
            var cmd = Sqlite.CreateCommand();
            cmd.CommandText = sql;
            foreach (var name in parameters)
            {
                cmd.Parameters.Add(new SqliteParameter { ParameterName = name, Value = DBNull.Value });
            }

            cmd.Prepare();
            return cmd;
        }
    }
}
