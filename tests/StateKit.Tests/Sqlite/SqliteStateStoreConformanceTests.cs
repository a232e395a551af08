using NUnit.Framework;
using StateKit.Sqlite;
using StateKit.Testing;
using StateKit.Tests.Testing;

namespace StateKit.Tests.Sqlite;

/// <summary>The conformance suite, bare, through a pass-through decorator and behind the L1 tier, against <see cref="SqliteStateStore"/>; all stores of a fixture share one database file.</summary>
[TestFixture(StorePipeline.Bare)]
[TestFixture(StorePipeline.PassThrough)]
[TestFixture(StorePipeline.L1)]
public sealed class SqliteStateStoreConformanceTests(StorePipeline pipeline) : StateStoreConformanceTests<SqliteStateStore>
{
    protected override IStateStore Decorate(SqliteStateStore store) => pipeline.Wrap(store, Time);

    private string _directory = string.Empty;

    [OneTimeSetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("statekit-sqlite-conformance-").FullName;

    [OneTimeTearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    protected override ValueTask<SqliteStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var sqliteOptions = new SqliteStateStoreOptions { ConnectionString = Path.Combine(_directory, "state.db") };
        options.CopyTo(sqliteOptions);
        return new(new SqliteStateStore(sqliteOptions, timeProvider));
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) => DamageAsync(Path.Combine(_directory, "state.db"), keyPrefix, key);

    /// <summary>Replaces a byte in the middle of a stored value in the SQLite file, as a damaged disk would.</summary>
    internal static async ValueTask<bool> DamageAsync(string path, string keyPrefix, string key)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "UPDATE statekit_entries SET value = CAST(substr(value, 1, length(value) / 2) || X'5A' || substr(value, length(value) / 2 + 2) AS BLOB) WHERE ns = $ns AND key = $key";
        cmd.Parameters.AddWithValue("$ns", keyPrefix);
        cmd.Parameters.AddWithValue("$key", key);
        return await cmd.ExecuteNonQueryAsync() == 1;
    }
}
