using NUnit.Framework;
using StateKit.Sqlite;
using StateKit.Testing;

namespace StateKit.Tests.Sqlite;

/// <summary>The conformance suite against <see cref="SqliteStateStore"/>; all stores of a fixture share one database file.</summary>
public sealed class SqliteStateStoreConformanceTests : StateStoreConformanceTests<SqliteStateStore>
{
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
}
