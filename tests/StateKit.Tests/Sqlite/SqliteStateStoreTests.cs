using System.Buffers.Binary;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NUnit.Framework;
using StateKit.Tests.Pipeline;
using StateKit.Sqlite;
using StateKit.Tests.File;

namespace StateKit.Tests.Sqlite;

/// <summary>SQLite-specific behaviour: schema versioning, damaged files, registration, health, crashes and processes.</summary>
public sealed class SqliteStateStoreTests
{
    private string _directory = string.Empty;

    private string DatabasePath => Path.Combine(_directory, "state.db");

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("statekit-sqlite-").FullName;

    [TearDown]
    public void DeleteDirectory()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public async Task Open_VersionOneDatabase_IsUpgradedToTheChangeLog_AndItsChangesAreReported()
    {
        await using (var store = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = DatabasePath }))
        {
            await store.SetAsync("k", "v"u8.ToArray());
        }

        // Back to what StateKit 0.1.0 wrote: no change log, no triggers, schema version 1.
        await using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT group_concat('DROP TRIGGER ' || name, ';') FROM sqlite_master WHERE type = 'trigger'";
            var drops = (string)(await cmd.ExecuteScalarAsync())!;
            cmd.CommandText = drops + "; DROP TABLE statekit_changes; ALTER TABLE statekit_entries DROP COLUMN crc; ALTER TABLE statekit_entries DROP COLUMN crc_version; " +
                "ALTER TABLE statekit_list_items DROP COLUMN crc; UPDATE statekit_schema SET version = 1";
            await cmd.ExecuteNonQueryAsync();
        }

        await using var upgraded = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = DatabasePath, ChangePollInterval = TimeSpan.FromMilliseconds(10) });
        var seen = new TaskCompletionSource<StateStoreChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await upgraded.SubscribeAsync(string.Empty, (change, _) =>
        {
            seen.TrySetResult(change);
            return ValueTask.CompletedTask;
        });
        Assert.That((await upgraded.GetAsync("k"))!.Value.ToArray(), Is.EqualTo("v"u8.ToArray()), "the data survives the upgrade");
        var version = await upgraded.SetAsync("k", "w"u8.ToArray());
        Assert.That(await seen.Task.WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo(new StateStoreChange("k", StateStoreChangeKind.Set, version)));

        // Schema version 3: a touch is told apart from a write.
        var touched = new TaskCompletionSource<StateStoreChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var touches = await upgraded.SubscribeAsync("k", (change, _) =>
        {
            touched.TrySetResult(change);
            return ValueTask.CompletedTask;
        });
        await upgraded.TouchAsync("k", TimeSpan.FromHours(1));
        Assert.That(await touched.Task.WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo(new StateStoreChange("k", StateStoreChangeKind.Touch, version)));
    }

    /// <summary>A database path whose directory cannot be created (a file is in the way) is a typed configuration error, not a raw IOException.</summary>
    [Test]
    public void Open_DirectoryCannotBeCreated_ThrowsConfigurationError()
    {
        var blocker = DatabasePath + ".blocker";
        System.IO.File.WriteAllText(blocker, "a file, not a directory");
        var ex = Assert.Throws<StateStoreConfigurationException>(() => _ = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = Path.Combine(blocker, "state.db") }));
        Assert.That(ex!.Message, Does.Contain("cannot be created").And.Contain(blocker));
    }

    [Test]
    public async Task Open_DatabaseFromNewerStateKit_IsRefusedWithSchemaVersionError()
    {
        await using (var store = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = DatabasePath }))
        {
            await store.SetAsync("k", "v"u8.ToArray());
        }

        await using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "UPDATE statekit_schema SET version = 99";
            await cmd.ExecuteNonQueryAsync();
        }

        await using var newer = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = DatabasePath });
        var ex = await Assert.ThrowsAsync<StateSchemaVersionException>(async () => await newer.GetAsync("k"));
        Assert.That(ex!.FoundVersion, Is.EqualTo(99));
        Assert.That(ex.SupportedVersion, Is.EqualTo(4));
        Assert.That(ex.Message, Does.Contain("newer"));
    }

    [Test]
    public async Task Open_FileThatIsNotADatabase_ThrowsCorrupted()
    {
        await System.IO.File.WriteAllBytesAsync(DatabasePath, Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray());
        await using var store = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = DatabasePath });
        var ex = await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("k"));
        Assert.That(ex!.Location, Is.EqualTo(DatabasePath));
    }

    [Test]
    public async Task Get_RowWithImpossibleVersion_ThrowsCorruptedNamingTheKey()
    {
        await using var store = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = DatabasePath });
        await store.SetAsync("damaged", "v"u8.ToArray());
        await store.SetAsync("fine", "v"u8.ToArray());
        await using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "UPDATE statekit_entries SET version = 0 WHERE key = 'damaged'";
            await cmd.ExecuteNonQueryAsync();
        }

        var ex = await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("damaged"));
        Assert.That(ex!.Key, Is.EqualTo("damaged"));
        Assert.That((await store.GetAsync("fine"))!.Version, Is.EqualTo(1), "other keys keep working");
        Assert.That(await store.SetAsync("damaged", "new"u8.ToArray()), Is.GreaterThanOrEqualTo(1), "an unconditional write replaces the damaged row");
    }

    [Test]
    public void Constructor_InjectionInTablePrefix_IsRefused()
    {
        Assert.That(
            () => new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = DatabasePath, TablePrefix = "x\"; DROP TABLE y; --" }),
            Throws.ArgumentException.With.Message.Contains("TablePrefix"));
    }

    [Test]
    public async Task UseSqlite_AndConfiguration_ResolveWorkingSqliteStores()
    {
        var services = new ServiceCollection();
        services.AddStateKit().UseSqlite(DatabasePath);
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<IStateStore>().Unwrapped();
            Assert.That(store, Is.InstanceOf<SqliteStateStore>());
            await store.SetAsync("from-builder", "1"u8.ToArray());
            var health = await new SqliteStateStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
            Assert.That(health.Status, Is.EqualTo(HealthStatus.Healthy), health.Description);
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Store:Type"] = "sqlite",
            ["StateKit:Store:ConnectionString"] = $"Data Source={DatabasePath}",
        }).Build();
        var configured = new ServiceCollection();
        configured.AddStateKit(configuration.GetSection("StateKit"));
        await using var fromConfiguration = configured.BuildServiceProvider();
        var second = fromConfiguration.GetRequiredService<IStateStore>().Unwrapped();
        Assert.That(second, Is.InstanceOf<SqliteStateStore>());
        Assert.That(await second.ExistsAsync("from-builder"), Is.True, "both point at the same database file");
    }

    [Test]
    public async Task HealthCheck_UnwritableLocation_ReportsUnhealthy()
    {
        var blocker = Path.Combine(_directory, "file");
        await System.IO.File.WriteAllTextAsync(blocker, "not a directory");
        await using var store = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = $"Data Source={Path.Combine(blocker, "state.db")};Mode=ReadWrite" });
        var health = await new SqliteStateStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(health.Description, Does.Contain("sqlite"));
    }

    [Test]
    public async Task KilledWriter_TwentyTimes_EveryEntryIsCompleteOldOrNewValue()
    {
        await CrashTest.KillWriterRepeatedlyAsync("sqlite:" + DatabasePath, 20, () =>
            Task.FromResult<IStateStore>(new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = DatabasePath })));
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var check = connection.CreateCommand();
        check.CommandText = "PRAGMA integrity_check";
        Assert.That(await check.ExecuteScalarAsync(), Is.EqualTo("ok"));
    }

    [Test]
    public async Task TwoProcesses_ConditionalIncrementsOnOneKey_LoseNoUpdate()
    {
        const int perProcess = 300;
        var target = "sqlite:" + DatabasePath;
        using var first = ChildProcess.Start("increment", target, perProcess.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var second = ChildProcess.Start("increment", target, perProcess.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Task.WhenAll(first.WaitForExitAsync(), second.WaitForExitAsync()).WaitAsync(TimeSpan.FromMinutes(3));
        Assert.That(first.ExitCode, Is.EqualTo(0), await first.StandardError.ReadToEndAsync());
        Assert.That(second.ExitCode, Is.EqualTo(0), await second.StandardError.ReadToEndAsync());

        await using var store = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = DatabasePath });
        var counter = await store.GetAsync("counter");
        Assert.That(BinaryPrimitives.ReadInt64LittleEndian(counter!.Value.Span), Is.EqualTo(2 * perProcess));
        Assert.That(counter.Version, Is.EqualTo(2 * perProcess));
    }
}
