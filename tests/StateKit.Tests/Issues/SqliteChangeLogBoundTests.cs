using Microsoft.Data.Sqlite;
using NUnit.Framework;
using StateKit.Sqlite;

namespace StateKit.Tests.Issues;

/// <summary>
/// SQLite stays bounded under sustained writes (issue 23, items 13 and 15): the writers prune the change log themselves,
/// so it stays bounded when no process subscribes to the feed, and the WAL is checkpointed and cut back.
/// </summary>
public sealed class SqliteChangeLogBoundTests
{
    private string _directory = null!;

    private string DatabasePath => Path.Combine(_directory, "state.db");

    [SetUp]
    public void SetUp() => _directory = Directory.CreateTempSubdirectory("statekit-sqlite-bound-").FullName;

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public async Task AStoreNobodySubscribesTo_KeepsItsChangeLogBounded()
    {
        await using var store = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = DatabasePath });
        store.Dialect.MaintainEvery = 100;
        store.Dialect.MaxChangeRows = 500;
        for (var i = 0; i < 3000; i++)
        {
            await store.SetAsync("session/" + (i % 50), new byte[64]);
            if (i % 100 == 99)
            {
                await store.Dialect.LastMaintenance; // one run at a time: let each one finish, as a real load's pauses do
            }
        }

        await store.Dialect.LastMaintenance;
        Assert.That(await CountAsync($"SELECT COUNT(*) FROM {store.Dialect.ChangesTable}"), Is.LessThanOrEqualTo(600), "3,000 writes, at most 500 rows kept (+ the writes since the last run)");
        Assert.That((await store.GetAsync("session/7"))!.Version, Is.EqualTo(60), "pruning the log touches no entry");
    }

    [Test]
    public async Task ConnectionsLimitTheJournal_AndUpkeepTruncatesTheWal()
    {
        await using var store = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = DatabasePath });
        store.Dialect.MaintainEvery = 200;
        for (var i = 0; i < 2000; i++)
        {
            await store.SetAsync("k" + i, new byte[4096]);
        }

        await store.Dialect.LastMaintenance;
        var wal = new FileInfo(DatabasePath + "-wal");
        Assert.That(wal.Exists ? wal.Length : 0, Is.LessThan(200 * 4096 * 2), "checkpointed and truncated: about the writes since the last run at most");

        var connection = (SqliteConnection)await store.Dialect.OpenAsync(default);
        try
        {
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA journal_size_limit";
            Assert.That((long)(await pragma.ExecuteScalarAsync())!, Is.EqualTo(StateKit.Sqlite.Internal.SqliteDialect.JournalSizeLimit));
        }
        finally
        {
            await store.Dialect.ReleaseAsync(connection, broken: false);
        }
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
