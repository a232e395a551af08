using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using StateKit.Postgres;
using StateKit.Redis;
using StateKit.Sqlite;
using StateKit.Tests.Testing;

namespace StateKit.Tests.Pipeline;

/// <summary>The builder's decorator hook, the capability lookup through decorators, and satellite options.</summary>
public sealed class StorePipelineTests
{
    private string _directory = string.Empty;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("statekit-pipeline-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task Decorate_WrapsTheChosenStore_FirstAddedOutermost_WhereverUseComesInTheChain()
    {
        var services = new ServiceCollection();
        services.AddStateKit()
            .Decorate((store, _) => new NamedStore(store, "first"))
            .UseSqlite(Path.Combine(_directory, "state.db"))
            .Decorate((store, _) => new NamedStore(store, "second"));
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>().Unwrapped();

        // As in ASP.NET Core middleware and Polly: the first added sees a call first.
        var outer = (NamedStore)store;
        Assert.That(outer.Label, Is.EqualTo("first"), "the first decorator added is the outermost");
        Assert.That(outer.Inner, Is.InstanceOf<NamedStore>().And.Property(nameof(NamedStore.Label)).EqualTo("second"));
        Assert.That(((NamedStore)outer.Inner).Inner, Is.InstanceOf<SqliteStateStore>());
        Assert.That(store.GetService<SqliteStateStore>(), Is.SameAs(((NamedStore)outer.Inner).Inner));
        Assert.That(store.GetCapabilities(), Is.EqualTo(StateStoreCapabilities.AtomicBatches));
        await store.SetAsync("k", new byte[] { 1 });
        Assert.That(await store.ExistsAsync("k"), Is.True);
    }

    [Test]
    public async Task Decorate_StoreChosenFromConfigurationAlone_IsWrapped()
    {
        var services = new ServiceCollection();
        services.AddStateKit(o =>
        {
            o.Store.Type = "sqlite";
            o.Store.Path = Path.Combine(_directory, "config.db");
        }).Decorate<CountingStore>();
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>().Unwrapped();

        Assert.That(store, Is.InstanceOf<CountingStore>());
        Assert.That(store.GetService<SqliteStateStore>(), Is.Not.Null);
        await store.SetAsync("k", new byte[] { 1 });
        Assert.That(((CountingStore)store).Writes, Is.EqualTo(1));
        Assert.That(((CountingStore)store).Time, Is.SameAs(provider.GetRequiredService<TimeProvider>()), "Decorate<T> takes its other constructor arguments from the container");
    }

    [Test]
    public async Task Decorate_DecoratorThrows_DisposesWhatWasBuiltAndReportsTheError()
    {
        var custom = new MemoryStateStore();
        var services = new ServiceCollection();
        services.AddStateKit().UseStore(_ => custom)
            .Decorate((store, _) => new PassThroughStore(store))
            .Decorate((_, _) => throw new InvalidOperationException("decorator failed"));
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IStateStore>().Unwrapped());
        Assert.That(ex!.Message, Is.EqualTo("decorator failed"));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await custom.GetAsync("k"));
    }

    [Test]
    public async Task Decorate_DecoratorReturnsNull_FailsClearly()
    {
        var services = new ServiceCollection();
        services.AddStateKit().Decorate((_, _) => null!);
        await using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IStateStore>().Unwrapped());
        Assert.That(ex!.Message, Does.Contain("returned null"));
    }

    [Test]
    public async Task HealthChecks_BackendBehindDecorators_AreHealthyAgainstWorkingServers()
    {
        var services = new ServiceCollection();
        services.AddStateKit().UseRedis(TestServers.Redis, o => o.RedisKeyPrefix = "sktest-" + Guid.NewGuid().ToString("N")[..8])
            .Decorate<PassThroughStore>().Decorate<PassThroughStore>();
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>().Unwrapped();
        Assert.That(store, Is.InstanceOf<PassThroughStore>());

        var redis = await new RedisStateStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
        Assert.That(redis.Status, Is.EqualTo(HealthStatus.Healthy), redis.Description);
        var probe = await new StateStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
        Assert.That(probe.Status, Is.EqualTo(HealthStatus.Healthy), probe.Description);

        var postgresCheck = await new PostgresStateStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
        Assert.That(postgresCheck.Status, Is.EqualTo(HealthStatus.Unhealthy), "a check whose backend is not in the pipeline says so");
        Assert.That(postgresCheck.Description, Does.Contain("has no PostgresStateStore"));
    }

    [Test]
    public async Task HealthChecks_PostgresAndSqliteBehindADecorator_AreHealthy()
    {
        var schema = "sk_pipe_" + Guid.NewGuid().ToString("N")[..8];
        await using (var postgres = new PassThroughStore(new PostgresStateStore(new PostgresStateStoreOptions { ConnectionString = TestServers.Postgres, Schema = schema })))
        {
            var health = await new PostgresStateStoreHealthCheck(postgres).CheckHealthAsync(new HealthCheckContext());
            Assert.That(health.Status, Is.EqualTo(HealthStatus.Healthy), health.Description);
        }

        await using var dataSource = Npgsql.NpgsqlDataSource.Create(TestServers.Postgres);
        await using (var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await using var sqlite = new PassThroughStore(new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = Path.Combine(_directory, "h.db") }));
        var sqliteHealth = await new SqliteStateStoreHealthCheck(sqlite).CheckHealthAsync(new HealthCheckContext());
        Assert.That(sqliteHealth.Status, Is.EqualTo(HealthStatus.Healthy), sqliteHealth.Description);
    }

    [Test]
    public async Task SatelliteOptions_SetInUse_AreNotOverwrittenByTheCoreOptions_AndUnsetOnesComeFromThem()
    {
        var path = Path.Combine(_directory, "state.db");
        var services = new ServiceCollection();
        services.AddStateKit(o =>
        {
            o.KeyPrefix = "core";
            o.MaxValueBytes = 10;
        }).UseSqlite(path, o => o.KeyPrefix = "mine");
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<IStateStore>().Unwrapped();
            await store.SetAsync("k", new byte[10]);
            await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await store.SetAsync("big", new byte[11]), "MaxValueBytes was left unset on the SQLite options, so the core's applies");
        }

        await using var mine = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = path, KeyPrefix = "mine" });
        await using var core = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = path, KeyPrefix = "core" });
        Assert.That(await mine.ExistsAsync("k"), Is.True, "the key prefix given to UseSqlite is the one used");
        Assert.That(await core.ExistsAsync("k"), Is.False);
    }

    [Test]
    public async Task SatelliteOptions_Invalid_FailTheStartNamingTheSetting()
    {
        var builder = TestHost.CreateBuilder();
        builder.Services.AddStateKit().UseRedis(TestServers.Redis, o =>
        {
            o.Database = -5;
            o.OperationTimeout = TimeSpan.Zero;
            o.KeyPrefix = "../escape";
        });
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(async () => await host.StartAsync());
        Assert.That(ex!.Message, Does.Contain("RedisStateStoreOptions:Database").And.Contain("RedisStateStoreOptions:OperationTimeout").And.Contain("RedisStateStoreOptions:KeyPrefix"));
    }

    [Test]
    public async Task FileStoreOptions_Invalid_FailTheStartNamingTheSetting()
    {
        var builder = TestHost.CreateBuilder();
        builder.Services.AddStateKit().UseFileSystem(_directory, o => o.LockTimeout = TimeSpan.FromSeconds(-1));
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(async () => await host.StartAsync());
        Assert.That(ex!.Message, Does.Contain("FileStateStoreOptions:LockTimeout"));
    }

    [TestCase("sqlite")]
    [TestCase("postgres")]
    public async Task SatelliteOptions_InvalidTablePrefix_FailsTheStart(string type)
    {
        var builder = TestHost.CreateBuilder();
        var kit = builder.Services.AddStateKit();
        if (type == "sqlite")
        {
            kit.UseSqlite(Path.Combine(_directory, "s.db"), o => o.TablePrefix = "bad-name");
        }
        else
        {
            kit.UsePostgres(TestServers.Postgres, o => o.TablePrefix = "bad-name");
        }

        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(async () => await host.StartAsync());
        Assert.That(ex!.Message, Does.Contain("TablePrefix"));
    }

    [Test]
    public async Task UseRedis_WithTheApplicationsMultiplexer_IsValidatedAndLeavesItOpen()
    {
        using var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        var builder = TestHost.CreateBuilder();
        builder.Services.AddStateKit().UseRedis(_ => multiplexer, o => o.ScanPageSize = 0);
        using (var host = builder.Build())
        {
            var ex = await Assert.ThrowsAsync<OptionsValidationException>(async () => await host.StartAsync());
            Assert.That(ex!.Message, Does.Contain("RedisStateStoreOptions:ScanPageSize"));
        }

        var services = new ServiceCollection();
        services.AddStateKit().UseRedis(_ => multiplexer, o => o.RedisKeyPrefix = "sktest-" + Guid.NewGuid().ToString("N")[..8]).Decorate<PassThroughStore>();
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<IStateStore>().Unwrapped();
            await store.SetAsync("k", new byte[] { 1 });
            Assert.That(store.GetService<RedisStateStore>(), Is.Not.Null);
        }

        Assert.That(multiplexer.IsConnected, Is.True, "the application's multiplexer is not disposed with the store");
    }

    [Test]
    public async Task VersionPreservingWrite_ThroughADecorator_IsOfferedOnlyWhenTheInnerStoreHasIt()
    {
        await using var withIt = new PassThroughStore(new MemoryStateStore());
        Assert.That(withIt.GetService<IVersionPreservingStateStore>(), Is.SameAs(withIt), "the decorator answers, so an override of SetAtVersionAsync is not bypassed");
        Assert.That(await withIt.SetAtVersionAsync("k", new byte[] { 1 }, 3, null), Is.True);
        Assert.That((await withIt.GetAsync("k"))!.Version, Is.EqualTo(3));

        await using var without = new PassThroughStore(new StateKit.Tests.Provider.OpaqueStore(new MemoryStateStore()));
        Assert.That(without.GetService<IVersionPreservingStateStore>(), Is.Null, "a store without the capability is not made to look as if it had it");
        Assert.That(without.GetService<MemoryStateStore>(), Is.Null, "the lookup stops at a store that does not forward it");
        await Assert.ThrowsAsync<NotSupportedException>(async () => await without.SetAtVersionAsync("k", new byte[] { 1 }, 3, null));
    }

    /// <summary>A decorator with a label, to see the order of the pipeline.</summary>
    private sealed class NamedStore(IStateStore inner, string label) : DelegatingStateStore(inner)
    {
        public string Label { get; } = label;
    }

    /// <summary>Counts writes; takes a service from the container besides the store it wraps.</summary>
    public sealed class CountingStore(IStateStore inner, TimeProvider time) : DelegatingStateStore(inner)
    {
        private int _writes;

        public int Writes => _writes;

        public TimeProvider Time { get; } = time;

        public override ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _writes);
            return base.SetAsync(key, value, options, cancellationToken);
        }
    }
}
