using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using NUnit.Framework;
using StateKit.Tests.Pipeline;
using StateKit.Postgres;
using StateKit.Testing;

namespace StateKit.Tests.Postgres;

/// <summary>PostgreSQL-specific behaviour on the test server: schema set-up and versioning, batches, secrets, restarts.</summary>
public sealed partial class PostgresStateStoreTests
{
    private readonly List<string> _schemas = [];

    [Test]
    public async Task BehindATransactionPooler_TheChangeFeedListensOnItsOwnConnection_AndAutoPrepareCanBeTurnedOff()
    {
        // Issue 25: LISTEN needs a session; a transaction pooler lends server connections per transaction. The change
        // feed opens its LISTEN connection from ListenConnectionString (PostgreSQL directly, or a session-mode pool).
        var listener = "sk-listen-" + Guid.NewGuid().ToString("N")[..8];
        var options = NewOptions();
        options.ConnectionString += ";Max Auto Prepare=0";
        options.ListenConnectionString = TestServers.Postgres + ";Application Name=" + listener;
        await using var store = new PostgresStateStore(options);
        Assert.That(new NpgsqlConnectionStringBuilder(store.DataSource.ConnectionString).MaxAutoPrepare, Is.Zero, "an explicit Max Auto Prepare=0 is kept (server-side prepared statements break behind older poolers)");
        await using (var defaults = new PostgresStateStore(NewOptions()))
        {
            Assert.That(new NpgsqlConnectionStringBuilder(defaults.DataSource.ConnectionString).MaxAutoPrepare, Is.EqualTo(32), "auto-prepare stays on by default");
        }

        var seen = new TaskCompletionSource<StateStoreChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await store.SubscribeAsync(string.Empty, (change, _) =>
        {
            seen.TrySetResult(change);
            return ValueTask.CompletedTask;
        });
        await using (var dataSource = NpgsqlDataSource.Create(TestServers.Postgres))
        await using (var activity = dataSource.CreateCommand($"SELECT count(*) FROM pg_stat_activity WHERE application_name = @name AND ({TestServers.PostgresFeedConnection})"))
        {
            activity.Parameters.AddWithValue("name", listener);
            Assert.That((long)(await activity.ExecuteScalarAsync())!, Is.EqualTo(1), "the LISTEN runs on the listen connection");
        }

        await store.SetAsync("k", new byte[] { 1 });
        Assert.That((await seen.Task.WaitAsync(TimeSpan.FromSeconds(10))).Key, Is.EqualTo("k"));
    }

    [TearDown]
    public async Task DropSchemasAsync()
    {
        await using var dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
        foreach (var schema in _schemas)
        {
            await using var cmd = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
            await cmd.ExecuteNonQueryAsync();
        }
    }

    [Test]
    public async Task FirstUse_EightInstancesAtOnce_CreateTheSchemaOnce()
    {
        var options = NewOptions();
        var stores = Enumerable.Range(0, 8).Select(_ => new PostgresStateStore(options)).ToArray();
        try
        {
            var versions = await Task.WhenAll(stores.Select((s, i) => s.SetAsync($"k{i}", Encoding.UTF8.GetBytes("v")).AsTask()));
            Assert.That(versions, Is.All.EqualTo(1));
            Assert.That(await stores[0].ListKeysAsync().CountAsync(), Is.EqualTo(8));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task Open_SchemaFromNewerStateKit_IsRefused()
    {
        var options = NewOptions();
        await using (var store = new PostgresStateStore(options))
        {
            await store.SetAsync("k", "v"u8.ToArray());
        }

        await using (var dataSource = NpgsqlDataSource.Create(TestServers.Postgres))
        await using (var cmd = dataSource.CreateCommand($"UPDATE \"{options.Schema}\".statekit_schema SET version = 7"))
        {
            await cmd.ExecuteNonQueryAsync();
        }

        await using var newer = new PostgresStateStore(options);
        var ex = await Assert.ThrowsAsync<StateSchemaVersionException>(async () => await newer.GetAsync("k"));
        Assert.That(ex!.FoundVersion, Is.EqualTo(7));
        Assert.That(ex.Message, Does.Contain(options.Schema).And.Not.Contain("Password"));
    }

    [Test]
    public async Task SetManyAsync_ConflictInBatch_WritesNothingOfTheBatch()
    {
        await using var store = new PostgresStateStore(NewOptions());
        await store.SetAsync("taken", "old"u8.ToArray());
        await Assert.ThrowsAsync<StateConflictException>(async () => await store.SetManyAsync(
            [new StateWrite("fresh", "new"u8.ToArray()), new StateWrite("taken", "lost"u8.ToArray(), StateWriteOptions.IfNotExists)]));
        Assert.That(await store.ExistsAsync("fresh"), Is.False, "the batch is one transaction");
        Assert.That(await store.SetManyAsync([new StateWrite("a", "1"u8.ToArray()), new StateWrite("b", "2"u8.ToArray())]), Is.EqualTo(new long[] { 1, 1 }));
    }

    [Test]
    public async Task SetManyAsync_UnconditionalDistinctKeys_OneStatement_VersionsInOrderAndExpiredKeysRestartAtOne()
    {
        var time = new ManualTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())); // rows keep milliseconds
        await using var store = new PostgresStateStore(NewOptions(), time);
        await store.SetAsync("a", new byte[] { 1 });
        await store.SetAsync("a", new byte[] { 2 });
        await store.SetAsync("b", new byte[] { 3 }, new StateWriteOptions(TimeToLive: TimeSpan.FromMinutes(1)));
        time.Advance(TimeSpan.FromMinutes(2)); // "b" has expired but its row is still there

        // Distinct keys and no condition: the store sends one INSERT ... SELECT FROM unnest(...) statement.
        var versions = await store.SetManyAsync([new StateWrite("c", new byte[] { 4 }), new StateWrite("a", new byte[] { 5 }), new StateWrite("b", new byte[] { 6 }, new StateWriteOptions(TimeToLive: TimeSpan.FromMinutes(5)))]);
        Assert.That(versions, Is.EqualTo(new long[] { 1, 3, 1 }));
        Assert.That((await store.GetAsync("a"))!.Value.ToArray(), Is.EqualTo(new byte[] { 5 }));
        var b = (await store.GetAsync("b"))!;
        Assert.That((b.Value.ToArray(), b.Version, b.ExpiresAt), Is.EqualTo((new byte[] { 6 }, 1L, time.GetUtcNow() + TimeSpan.FromMinutes(5))));

        // The same key twice keeps one statement per write, applied in order.
        Assert.That(await store.SetManyAsync([new StateWrite("d", new byte[] { 7 }), new StateWrite("d", new byte[] { 8 })]), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That((await store.GetAsync("d"))!.Value.ToArray(), Is.EqualTo(new byte[] { 8 }));
    }

    [Test]
    public async Task UnreachableServer_ThrowsUnavailableWithoutThePassword()
    {
        const string password = "s3cret-Pa55word";
        var options = new PostgresStateStoreOptions
        {
            ConnectionString = $"Host=127.0.0.1;Port=1;Username=u;Password={password};Timeout=2",
            MaxAttempts = 2,
            RetryDelay = TimeSpan.FromMilliseconds(10),
            MaxRetryDelay = TimeSpan.FromMilliseconds(10),
        };
        var logger = new CapturingLogger<PostgresStateStore>();
        using var retries = new MetricCollector<long>(null, StateKitTelemetry.MeterName, StateKitTelemetry.Retries);
        await using var store = new PostgresStateStore(options, logger: logger);
        var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await store.SetAsync("k", "v"u8.ToArray()));
        Assert.That(
            retries.GetMeasurementSnapshot().Select(m => (m.Value, m.Tags["db.system.name"], m.Tags["db.operation.name"])),
            Is.EqualTo(new[] { (1L, (object?)"postgresql", (object?)"Set") }),
            "the one retry is counted in statekit.store.retries");
        Assert.That(ex!.ToString(), Does.Not.Contain(password));
        Assert.That(logger.Events(100).Select(e => e.Message), Has.One.Contains("retries Set").And.One.Contains("attempt 1 of 2"));
        Assert.That(logger.Events(101).Select(e => e.Message), Has.One.Contains("gave up on Set after 2 attempts"));
        Assert.That(logger.Entries.Select(e => e.Message + e.Exception), Has.None.Contains(password));
        Assert.That(ex.Message, Does.Contain("postgres").And.Contain("'k'").And.Contain("2 attempts"));
        Assert.That(ex.WriteMayHaveApplied, Is.False, "the connection never opened");
        var health = await new PostgresStateStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Unhealthy));
    }

    [Test]
    public void Constructor_InvalidConnectionString_DoesNotEchoIt()
    {
        const string password = "s3cret-Pa55word";
        Assert.That(
            () => new PostgresStateStore(new PostgresStateStoreOptions { ConnectionString = $"Host=x;Password={password};NoSuchKeyword=1" }),
            Throws.ArgumentException.With.Message.Not.Contain(password));
    }

    [Test]
    public async Task UsePostgres_AndConfiguration_ResolveHealthyStores()
    {
        var schema = NewOptions().Schema;
        var services = new ServiceCollection();
        services.AddStateKit().UsePostgres(TestServers.Postgres, o => o.Schema = schema);
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<IStateStore>().Unwrapped();
            Assert.That(store, Is.InstanceOf<PostgresStateStore>());
            var health = await new PostgresStateStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
            Assert.That(health.Status, Is.EqualTo(HealthStatus.Healthy), health.Description);
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Store:Type"] = "postgres",
            ["StateKit:Store:ConnectionString"] = TestServers.Postgres,
        }).Build();
        var configured = new ServiceCollection();
        configured.AddStateKit(configuration.GetSection("StateKit")).Services.Configure<PostgresStateStoreOptions>(o => o.Schema = schema);
        await using var fromConfiguration = configured.BuildServiceProvider();
        var second = fromConfiguration.GetRequiredService<IStateStore>().Unwrapped();
        Assert.That(second, Is.InstanceOf<PostgresStateStore>());
        Assert.That(await second.SetAsync("k", "v"u8.ToArray()), Is.EqualTo(1));
    }

    [Test]
    public async Task ServerRestart_UnderWriteLoad_EveryAcknowledgedWriteSurvives()
    {
        var stop = TestServers.Command("STATEKIT_POSTGRES_STOP");
        var start = TestServers.Command("STATEKIT_POSTGRES_START");
        await using var store = new PostgresStateStore(NewOptions());
        await store.SetAsync("warm-up", "v"u8.ToArray());
        var load = new ServerLoad(store, writers: 8);
        load.Start();
        try
        {
            await Task.Delay(500);
            await TestServers.RunAsync(stop); // immediate: like a crash, recovery replays the WAL
            await Task.Delay(1000);
            await TestServers.RunAsync(start);
            load.Mark();
            await load.WaitForSuccessesAsync(200, TimeSpan.FromSeconds(60));
        }
        finally
        {
            await load.StopAsync();
        }

        Assert.That(load.SucceededAfterMark, Is.GreaterThanOrEqualTo(200), "the same store works again after the restart");
        Assert.That(load.Failures.All(f => f is StateStoreUnavailableException), Is.True, string.Join("\n", load.Failures.Select(f => f.Message).Distinct()));
        var keys = load.Acknowledged.Keys.ToArray();
        var found = await store.GetManyAsync(keys);
        var missing = keys.Where(k => !found.TryGetValue(k, out var e) || Encoding.UTF8.GetString(e.Value.Span) != load.Acknowledged[k]).ToArray();
        TestContext.Out.WriteLine($"{keys.Length} acknowledged writes, {load.Failures.Count} failures reported as unavailable ({load.Failures.Count(f => ((StateStoreUnavailableException)f).WriteMayHaveApplied)} indeterminate).");
        Assert.That(missing, Is.Empty, "every acknowledged write is in the database after the restart");
    }

    private PostgresStateStoreOptions NewOptions()
    {
        var schema = "sk_test_" + Guid.NewGuid().ToString("N")[..10];
        _schemas.Add(schema);
        return new PostgresStateStoreOptions { ConnectionString = TestServers.Postgres, Schema = schema };
    }
}
