using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using System.Reflection;
using NUnit.Framework;
using StateKit.Tests.Pipeline;
using StackExchange.Redis;
using StateKit.Redis;

namespace StateKit.Tests.Redis;

/// <summary>Redis-specific behaviour on the test server: indeterminate timeouts, secrets, external multiplexers, restarts.</summary>
public sealed class RedisStateStoreTests
{
    private readonly string _redisPrefix = "sktest-" + Guid.NewGuid().ToString("N")[..10];

    [Test]
    public void ClientVersion_IsTheOneThisRunWasBuiltFor()
    {
        // tests/run.sh runs the Redis tests twice: on the client StateKit.Redis is built on, then with
        // RedisClientVersion=3.4.35. This pins that the second run really loads the newer client.
        var loaded = typeof(ConnectionMultiplexer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var built = typeof(RedisStateStore).Assembly.GetReferencedAssemblies().Single(a => a.Name == "StackExchange.Redis");
        TestContext.Out.WriteLine($"StackExchange.Redis {loaded} loaded; StateKit.Redis references assembly version {built.Version}.");
        Assert.That(loaded, Does.StartWith(ExpectedClientVersion));
    }

    /// <summary>Gets the StackExchange.Redis version this test build runs on: RedisClientVersion, or the floor StateKit.Redis is built on.</summary>
    internal static string ExpectedClientVersion =>
        typeof(RedisStateStoreTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RedisClientVersion").Value is { Length: > 0 } requested
            ? requested + "+"
            : "2.13.23+";

    [Test]
    public async Task WriteThatTimesOut_IsReportedAsIndeterminate_AndMayStillApply()
    {
        var options = NewOptions();
        options.OperationTimeout = TimeSpan.FromMilliseconds(300);
        await using var store = new RedisStateStore(options);
        await store.SetAsync("k", "old"u8.ToArray());

        // Another client keeps Redis busy in a script for 1.5 s; our write is queued behind it and times out.
        using var blocker = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        var busy = blocker.GetDatabase().ScriptEvaluateAsync("local t = redis.call('TIME') local stop = t[1] * 1000000 + t[2] + 1500000 while true do local n = redis.call('TIME') if n[1] * 1000000 + n[2] > stop then break end end return 1");
        await Task.Delay(100);
        var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await store.SetAsync("k", "new"u8.ToArray()));
        Assert.That(ex!.WriteMayHaveApplied, Is.True);
        Assert.That(ex.Message, Does.Contain("indeterminate"));
        await busy;

        // It was in fact applied once Redis got to it: exactly why "timed out" must never mean "not written".
        var entry = await store.GetAsync("k");
        Assert.That(entry!.Version, Is.EqualTo(2));
        Assert.That(entry.Value.ToArray(), Is.EqualTo("new"u8.ToArray()));
    }

    [Test]
    public async Task UnreachableServer_FailsFastAsNotAppliedWithoutThePassword_AndLogsTheOutageOnce()
    {
        const string password = "s3cret-Pa55word";
        var options = NewOptions();
        options.Configuration = $"127.0.0.1:1,password={password},connectTimeout=200";
        var logger = new CapturingLogger<RedisStateStore>();
        await using var store = new RedisStateStore(options, logger: logger);
        for (var i = 0; i < 3; i++)
        {
            var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await store.SetAsync("k", "v"u8.ToArray()));
            Assert.That(ex!.ToString(), Does.Not.Contain(password));
            Assert.That(ex.Message, Does.Contain("redis").And.Contain("'k'"));
            Assert.That(ex.WriteMayHaveApplied, Is.False, "no connection: the command was never sent (fail-fast backlog, not queued for later)");
            await Task.Delay(150);
        }

        Assert.That(logger.Events(200), Has.Count.EqualTo(1), "the lost connection is logged once, not once per failed call");
        Assert.That(logger.Entries.Select(e => e.Message + e.Exception), Has.None.Contains(password));
        var health = await new RedisStateStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Unhealthy));
    }

    [Test]
    public async Task Get_HashWithInvalidVersion_ThrowsCorruptedNamingTheKey()
    {
        var options = NewOptions();
        await using var store = new RedisStateStore(options);
        await store.SetAsync("damaged", "v"u8.ToArray());
        using (var multiplexer = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis))
        {
            var key = $"{_redisPrefix}:{options.KeyPrefix.Length}:{options.KeyPrefix}:e:damaged";
            Assert.That(await multiplexer.GetDatabase().HashSetAsync(key, "n", "not-a-number"), Is.False, "the field existed");
        }

        var ex = await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("damaged"));
        Assert.That(ex!.Key, Is.EqualTo("damaged"));
        Assert.That(await store.SetAsync("fine", "v"u8.ToArray()), Is.EqualTo(1), "other keys keep working");
    }

    [Test]
    public void Constructor_InvalidConfiguration_DoesNotEchoIt()
    {
        const string password = "s3cret-Pa55word";
        Assert.That(
            () => new RedisStateStore(new RedisStateStoreOptions { Configuration = $"127.0.0.1,password={password},nosuchoption=1" }),
            Throws.ArgumentException.With.Message.Not.Contain(password));
    }

    [Test]
    public async Task ExternalMultiplexer_IsUsedAndNeverDisposed()
    {
        using var multiplexer = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        var options = NewOptions();
        await using (var store = new RedisStateStore(multiplexer, options))
        {
            await store.SetAsync("k", "v"u8.ToArray());
        }

        Assert.That(multiplexer.IsConnected, Is.True, "StateKit never disposes a multiplexer it was given");
        await using var again = new RedisStateStore(multiplexer, options);
        Assert.That((await again.GetAsync("k"))!.Version, Is.EqualTo(1));
    }

    [Test]
    public async Task UseRedis_SharedMultiplexerFromTheContainer_IsUsedAndOutlivesTheContainer()
    {
        using var multiplexer = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        var services = new ServiceCollection();
        services.AddSingleton<IConnectionMultiplexer>(multiplexer);
        services.AddStateKit().UseRedis(sp => sp.GetRequiredService<IConnectionMultiplexer>(), o => o.RedisKeyPrefix = _redisPrefix);
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<IStateStore>().Unwrapped();
            Assert.That(await store.SetAsync("via-container", "v"u8.ToArray()), Is.EqualTo(1));
        }

        // The container disposes what it created, not the multiplexer it was handed: the app still owns it.
        Assert.That(multiplexer.IsConnected, Is.True);
        var direct = new ServiceCollection();
        direct.AddStateKit().UseRedis(multiplexer, o => o.RedisKeyPrefix = _redisPrefix);
        await using var second = direct.BuildServiceProvider();
        Assert.That((await second.GetRequiredService<IStateStore>().Unwrapped().GetAsync("via-container"))!.Version, Is.EqualTo(1));
        Assert.That(multiplexer.GetDatabase().Ping(), Is.GreaterThan(TimeSpan.Zero));
    }

    [Test]
    public async Task UseRedis_AndConfiguration_ResolveHealthyStores()
    {
        var services = new ServiceCollection();
        services.AddStateKit().UseRedis(TestServers.Redis, o => o.RedisKeyPrefix = _redisPrefix);
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<IStateStore>().Unwrapped();
            Assert.That(store, Is.InstanceOf<RedisStateStore>());
            var health = await new RedisStateStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
            Assert.That(health.Status, Is.EqualTo(HealthStatus.Healthy), health.Description);
            await store.SetAsync("shared", "v"u8.ToArray());
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Store:Type"] = "redis",
            ["StateKit:Store:ConnectionString"] = TestServers.Redis,
        }).Build();
        var configured = new ServiceCollection();
        configured.AddStateKit(configuration.GetSection("StateKit")).Services.Configure<RedisStateStoreOptions>(o => o.RedisKeyPrefix = _redisPrefix);
        await using var fromConfiguration = configured.BuildServiceProvider();
        var second = fromConfiguration.GetRequiredService<IStateStore>().Unwrapped();
        Assert.That(second, Is.InstanceOf<RedisStateStore>());
        Assert.That(await second.ExistsAsync("shared"), Is.True);
    }

    [Test]
    public async Task ServerKilledAndRestarted_UnderLoad_CallersSeeUnavailableThenRecoverWithoutRestart()
    {
        var stop = TestServers.Command("STATEKIT_REDIS_STOP");
        var start = TestServers.Command("STATEKIT_REDIS_START");
        var options = NewOptions();
        options.Configuration = TestServers.Redis + ",connectTimeout=500";
        options.OperationTimeout = TimeSpan.FromSeconds(1);
        await using var store = new RedisStateStore(options);
        await store.SetAsync("warm-up", "v"u8.ToArray());
        var load = new ServerLoad(store, writers: 8);
        var duringOutage = 0;
        load.Start();
        try
        {
            await Task.Delay(300);
            try
            {
                await TestServers.RunAsync(stop); // SIGKILL
                await Task.Delay(2500);
                duringOutage = load.Failures.Count;
            }
            finally
            {
                await TestServers.RunAsync(start);
            }

            load.Mark();
            await load.WaitForSuccessesAsync(200, TimeSpan.FromSeconds(60));
        }
        finally
        {
            await load.StopAsync();
        }

        TestContext.Out.WriteLine($"{load.Acknowledged.Count} acknowledged writes, {load.Failures.Count} failures ({load.Failures.Count(f => f is StateStoreUnavailableException { WriteMayHaveApplied: true })} indeterminate).");
        Assert.That(duringOutage, Is.GreaterThan(0), "callers see the outage as failures");
        Assert.That(load.Failures.All(f => f is StateStoreUnavailableException or StateVersionRegressedException), Is.True, string.Join("\n", load.Failures.Select(f => f.Message).Distinct()));

        // The test server keeps nothing across a restart: the writers in flight then were told their data went back.
        Assert.That(load.Failures.OfType<StateVersionRegressedException>().Any(), Is.True, "Redis restarted empty: the store reported it");
        Assert.That(load.SucceededAfterMark, Is.GreaterThanOrEqualTo(200), "the same store works again after Redis is back");
    }

    [Test]
    public async Task DataThatWentBack_IsReportedOnce_OnARead_AndOnAWrite()
    {
        // Issue 25: what a failover to a lagging replica, a restart from an older snapshot or a flush does to the
        // store's keys, done here by deleting them (the write counter with them).
        var options = NewOptions();
        var logger = new CapturingLogger<RedisStateStore>();
        await using var store = new RedisStateStore(options, logger: logger);
        await store.SetAsync("a", new byte[] { 1 });
        await store.SetAsync("a", new byte[] { 2 });
        await TestServers.DeleteRedisKeysAsync(_redisPrefix);

        var read = await Assert.ThrowsAsync<StateVersionRegressedException>(async () => await store.GetAsync("a"));
        Assert.That((read!.WriteApplied, read.Found, read.Seen), Is.EqualTo((false, 0L, 2L)));
        Assert.That(logger.Entries.Any(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error && e.Message.Contains("went back in time", StringComparison.Ordinal)), Is.True);
        Assert.That(await store.GetAsync("a"), Is.Null, "told once; then the store answers from what Redis has");

        await store.SetAsync("c", new byte[] { 1 });
        await store.SetAsync("c", new byte[] { 2 });
        await TestServers.DeleteRedisKeysAsync(_redisPrefix);
        var many = await Assert.ThrowsAsync<StateVersionRegressedException>(async () => await store.GetManyAsync(["a", "c"]));
        Assert.That(many!.Operation, Is.EqualTo("GetMany"));

        await store.ListAppendAsync("log", [new byte[] { 1 }]);
        await store.ListAppendAsync("log", [new byte[] { 2 }]);
        await TestServers.DeleteRedisKeysAsync(_redisPrefix);
        var range = await Assert.ThrowsAsync<StateVersionRegressedException>(async () => await store.ListRangeAsync("log"));
        Assert.That(range!.Operation, Is.EqualTo("ListRange"));

        await store.SetAsync("b", new byte[] { 1 });
        await TestServers.DeleteRedisKeysAsync(_redisPrefix);
        var write = await Assert.ThrowsAsync<StateVersionRegressedException>(async () => await store.SetAsync("a", new byte[] { 3 }));
        Assert.That(write!.WriteApplied, Is.True, "the write itself went through, at a version that may repeat one");
        Assert.That((await store.GetAsync("a"))!.Version, Is.EqualTo(1));
    }

    private RedisStateStoreOptions NewOptions() =>
        new() { Configuration = TestServers.Redis, RedisKeyPrefix = _redisPrefix, KeyPrefix = "t" + Guid.NewGuid().ToString("N")[..8] };
}
