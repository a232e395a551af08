using Microsoft.Data.Sqlite;
using Npgsql;
using NUnit.Framework;
using StateKit.Postgres;
using StateKit.Sqlite;

namespace StateKit.Tests.Issues;

/// <summary>
/// Damaged list rows in SQLite and PostgreSQL (a deleted item row, a head moved past the tail) raise
/// <see cref="StateCorruptedException"/> instead of inconsistent answers; and long keys are refused up front.
/// </summary>
[TestFixture("sqlite")]
[TestFixture("postgres")]
[Category("Postgres")]
public sealed class SqlListMetadataDamageTests(string kind)
{
    private readonly string _schema = "sk_dmg_" + Guid.NewGuid().ToString("N")[..10];
    private string _directory = string.Empty;
    private IStateStore _store = null!;

    [SetUp]
    public void CreateStore()
    {
        if (kind == "sqlite")
        {
            _directory = Directory.CreateTempSubdirectory("statekit-damage-").FullName;
            _store = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = Path.Combine(_directory, "state.db") });
        }
        else
        {
            _store = new PostgresStateStore(new PostgresStateStoreOptions { ConnectionString = TestServers.Postgres, Schema = _schema });
        }
    }

    [TearDown]
    public async Task DropStoreAsync()
    {
        await _store.DisposeAsync();
        if (kind == "sqlite")
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(_directory, recursive: true);
        }
        else
        {
            await ExecuteAsync($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE");
        }
    }

    [Test]
    public async Task ListRange_ItemRowDeleted_ThrowsCorruptedNamingTheKey()
    {
        await AppendTenAsync();
        await ExecuteAsync($"DELETE FROM {Table("list_items")} WHERE key = 'l' AND seq = 4");
        var ex = await Assert.ThrowsAsync<StateCorruptedException>(async () => await _store.ListRangeAsync("l"));
        Assert.That(ex!.Key, Is.EqualTo("l"));
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await _store.ListRangeAsync("l", 2, 6));
        Assert.That((await _store.ListRangeAsync("l", 5, 9)).Count, Is.EqualTo(5), "a range that does not touch the damage is served");
    }

    [Test]
    public async Task ListLengthAndRange_HeadPastTail_ThrowCorrupted()
    {
        await AppendTenAsync();
        await ExecuteAsync($"UPDATE {Table("lists")} SET head = tail + 5 WHERE key = 'l'");
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await _store.ListLengthAsync("l"));
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await _store.ListRangeAsync("l"));
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await _store.ListTrimAsync("l", 0, 3));
        Assert.That(await _store.ListDeleteAsync("l"), Is.True, "a damaged list can still be deleted");
        Assert.That(await _store.ListLengthAsync("l"), Is.Zero);
    }

    [Test]
    public async Task Set_KeyBeyondTheBackendIndexLimit_RefusedAsInvalidKeyOrStored()
    {
        await using var store = kind == "sqlite"
            ? (IStateStore)new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = Path.Combine(_directory, "state.db"), MaxKeyLength = 4096 })
            : new PostgresStateStore(new PostgresStateStoreOptions { ConnectionString = TestServers.Postgres, Schema = _schema, MaxKeyLength = 4096 });
        var key = string.Concat(Enumerable.Range(0, 4096).Select(i => (char)(0x4E00 + (i * 7919 % 20000))));
        if (kind == "sqlite")
        {
            Assert.That(await store.SetAsync(key, "v"u8.ToArray()), Is.EqualTo(1));
            return;
        }

        var ex = await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await store.SetAsync(key, "v"u8.ToArray()));
        Assert.That(ex!.Message, Does.Contain("2600"));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await store.SetManyAsync([new StateWrite(key, "v"u8.ToArray())]));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await store.ListAppendAsync(key, ["v"u8.ToArray()]));
        Assert.That(await store.SetAsync(new string('k', 2000), "v"u8.ToArray()), Is.EqualTo(1), "a key within the limit is stored");
    }

    private async Task AppendTenAsync() =>
        Assert.That(await _store.ListAppendAsync("l", Enumerable.Range(0, 10).Select(i => (ReadOnlyMemory<byte>)new[] { (byte)i }).ToArray()), Is.EqualTo(10));

    private string Table(string name) => kind == "sqlite" ? "statekit_" + name : $"\"{_schema}\".statekit_{name}";

    private async Task ExecuteAsync(string sql)
    {
        if (kind == "sqlite")
        {
            await using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, "state.db")};Pooling=False");
            await connection.OpenAsync();
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = sql;
            await cmd.ExecuteNonQueryAsync();
        }
        else
        {
            await using var dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
            await using var cmd = dataSource.CreateCommand(sql);
            await cmd.ExecuteNonQueryAsync();
        }
    }
}
