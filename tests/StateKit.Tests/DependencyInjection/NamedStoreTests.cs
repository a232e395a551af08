using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using StateKit.Sqlite;
using StateKit.Tests.Pipeline;

namespace StateKit.Tests.DependencyInjection;

/// <summary>Named stores (<c>AddStore</c>, keyed services), tier routing and session options from configuration.</summary>
public sealed class NamedStoreTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("statekit-named-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task AddStore_RegistersKeyedStoreAndProvider_SeparateFromDefault()
    {
        var services = new ServiceCollection();
        services.AddStateKit().AddStore("durable", s => s.UseSqlite(Path.Combine(_dir, "state.db")));
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var durable = provider.GetRequiredKeyedService<IStateStore>("durable");
        Assert.That(durable.Unwrapped(), Is.InstanceOf<SqliteStateStore>());
        Assert.That(provider.GetRequiredService<IStateStore>().Unwrapped(), Is.InstanceOf<MemoryStateStore>(), "the default store is unchanged");
        Assert.That(provider.GetRequiredKeyedService<IStateStore>("durable"), Is.SameAs(durable), "a singleton");

        var scope = StateScope.Local("agent");
        await provider.GetRequiredKeyedService<IStateProvider>("durable").SetAsync(scope, "k", 42);
        Assert.That((await provider.GetRequiredKeyedService<IStateProvider>("durable").GetAsync<int>(scope, "k"))!.Value, Is.EqualTo(42));
        Assert.That(await provider.GetRequiredService<IStateProvider>().GetAsync<int>(scope, "k"), Is.Null, "the default provider has its own store");
    }

    [Test]
    public async Task UseStoreDelegate_InDefaultAndNamedStore_EachGetsItsOwn()
    {
        // Before named stores, UseStore(factory) registered the factory globally: the last one created every store.
        var mine = new MemoryStateStore();
        var theirs = new MemoryStateStore();
        var services = new ServiceCollection();
        services.AddStateKit(o => o.Telemetry = false)
            .UseStore(_ => new Provider.NonDisposingStore(mine))
            .AddStore("other", s => s.UseStore(_ => new Provider.NonDisposingStore(theirs)));
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<IStateStore>().SetAsync("a", new byte[] { 1 });
        await provider.GetRequiredKeyedService<IStateStore>("other").SetAsync("b", new byte[] { 2 });
        Assert.That(await mine.ExistsAsync("a"), Is.True);
        Assert.That(await mine.ExistsAsync("b"), Is.False);
        Assert.That(await theirs.ExistsAsync("b"), Is.True);
        Assert.That(await theirs.ExistsAsync("a"), Is.False);
    }

    [Test]
    public async Task NamedStores_KeepTheirOwnSettings()
    {
        var services = new ServiceCollection();
        services.AddStateKit(o => o.MaxValueBytes = 10)
            .AddStore("big", s => s.UseMemory())
            .AddStore("sqlite", s => s.UseSqlite(Path.Combine(_dir, "a.db"), o => o.MaxValueBytes = 20))
            .AddStore("other-sqlite", s => s.UseSqlite(Path.Combine(_dir, "b.db")));
        await using var provider = services.BuildServiceProvider();

        await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await provider.GetRequiredService<IStateStore>().SetAsync("k", new byte[11]));
        Assert.That(await provider.GetRequiredKeyedService<IStateStore>("big").SetAsync("k", new byte[11]), Is.EqualTo(1), "nothing is inherited from the default store");
        await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await provider.GetRequiredKeyedService<IStateStore>("sqlite").SetAsync("k", new byte[21]));
        Assert.That(await provider.GetRequiredKeyedService<IStateStore>("other-sqlite").SetAsync("k", new byte[21]), Is.EqualTo(1), "the adapter options are per store");
        Assert.That(System.IO.File.Exists(Path.Combine(_dir, "b.db")), Is.True);
    }

    [Test]
    public async Task RouteTier_SendsTierStateAndSessionsToTheNamedStore()
    {
        var services = new ServiceCollection();
        services.AddStateKit()
            .AddStore("durable", s => s.UseSqlite(Path.Combine(_dir, "durable.db")))
            .AddStore("sessions", s => s.UseMemory())
            .RouteTier(StateTier.Persistent, "durable")
            .RouteTier(StateTier.Session, "sessions")
            .AddSessions<Chat>();
        await using var provider = services.BuildServiceProvider();
        var state = provider.GetRequiredService<IStateProvider>();
        var durable = provider.GetRequiredKeyedService<IStateStore>("durable");
        var sessionStore = provider.GetRequiredKeyedService<IStateStore>("sessions");

        await state.SetAsync(StateScope.Persistent("agent"), "facts", "the sky is blue");
        await state.AppendAsync(StateScope.Persistent("agent"), "log", ["one", "two"]);
        await state.SetAsync(StateScope.Local("agent"), "scratch", 1);
        var session = await provider.GetRequiredService<ISessionManager<Chat>>().CreateAsync(new Chat { Turns = 3 });
        await state.SetAsync(session.Scope, "draft", "hello");

        var durableKeys = await ListAsync(durable);
        Assert.That(durableKeys, Does.Contain("persistent/agent/v/facts"));
        Assert.That(await durable.ListLengthAsync("persistent/agent/l/log"), Is.EqualTo(2));
        Assert.That(durableKeys.Where(k => !k.StartsWith("persistent/", StringComparison.Ordinal)), Is.Empty);
        var sessionKeys = await ListAsync(sessionStore);
        Assert.That(sessionKeys, Has.Some.StartsWith("sessions/").And.Some.StartsWith("session-scopes/").And.Some.StartsWith("session/"));
        Assert.That(await state.GetRangeAsync<string>(StateScope.Persistent("agent"), "log"), Is.EqualTo(new[] { "one", "two" }));

        // The default store behind the router holds only the tiers not routed.
        var everything = await ListAsync(provider.GetRequiredService<IStateStore>());
        Assert.That(everything, Is.SupersetOf(durableKeys).And.SupersetOf(sessionKeys).And.Contain("local/agent/v/scratch"));
        Assert.That(everything, Is.Unique, "a key is listed by its own store only");
        Assert.That(await ListAsync(provider.GetRequiredService<IStateStore>(), "persistent/"), Is.EquivalentTo(durableKeys));

        // The routed state survives a restart with the durable store.
        await provider.DisposeAsync();
        var again = new ServiceCollection();
        again.AddStateKit().AddStore("durable", s => s.UseSqlite(Path.Combine(_dir, "durable.db"))).RouteTier(StateTier.Persistent, "durable");
        await using var restarted = again.BuildServiceProvider();
        var read = await restarted.GetRequiredService<IStateProvider>().GetAsync<string>(StateScope.Persistent("agent"), "facts");
        Assert.That(read!.Value, Is.EqualTo("the sky is blue"));
    }

    [Test]
    public async Task RoutedBatchAcrossStores_IsRefusedAndWritesNothing()
    {
        var services = new ServiceCollection();
        services.AddStateKit().AddStore("durable", s => s.UseMemory()).RouteTier(StateTier.Persistent, "durable");
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>();

        var error = await Assert.ThrowsAsync<NotSupportedException>(async () => await store.SetManyAsync(
            [new StateWrite("local/a/v/x", new byte[] { 1 }), new StateWrite("persistent/a/v/y", new byte[] { 2 })]));
        Assert.That(error!.Message, Does.Contain("local/a/v/x").And.Contain("persistent/a/v/y"));
        Assert.That(await ListAsync(store), Is.Empty);

        var versions = await store.SetManyAsync([new StateWrite("persistent/a/v/x", new byte[] { 1 }), new StateWrite("persistent/a/v/y", new byte[] { 2 })]);
        Assert.That(versions, Is.EqualTo(new long[] { 1, 1 }));
        Assert.That(await ListAsync(provider.GetRequiredKeyedService<IStateStore>("durable")), Is.EquivalentTo(new[] { "persistent/a/v/x", "persistent/a/v/y" }));
        var many = await store.GetManyAsync(["persistent/a/v/x", "local/none", "persistent/a/v/y"]);
        Assert.That(many.Keys, Is.EquivalentTo(new[] { "persistent/a/v/x", "persistent/a/v/y" }));
    }

    [Test]
    public async Task RoutedChangeFeed_ReportsChangesOfEveryStoreOnce()
    {
        var services = new ServiceCollection();
        services.AddStateKit().AddStore("durable", s => s.UseMemory()).RouteTier(StateTier.Persistent, "durable");
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>();
        var feed = store.GetService<IStateChangeFeed>();
        Assert.That(feed, Is.Not.Null, "both stores have a feed, so the router offers one");

        var seen = new List<string>();
        var all = new SemaphoreSlim(0);
        await using (await feed!.SubscribeAsync(string.Empty, (change, _) =>
        {
            lock (seen)
            {
                seen.Add(change.Key);
            }

            all.Release();
            return ValueTask.CompletedTask;
        }))
        {
            await store.SetAsync("local/a/v/x", new byte[] { 1 });
            await store.SetAsync("persistent/a/v/y", new byte[] { 2 });
            Assert.That(await all.WaitAsync(TimeSpan.FromSeconds(10)) && await all.WaitAsync(TimeSpan.FromSeconds(10)), Is.True);
        }

        lock (seen)
        {
            Assert.That(seen, Is.EquivalentTo(new[] { "local/a/v/x", "persistent/a/v/y" }));
        }
    }

    [Test]
    public async Task RouterOverAStoreWithoutFeed_OffersNoFeed()
    {
        var services = new ServiceCollection();
        services.AddStateKit()
            .AddStore("opaque", s => s.UseStore(_ => new Provider.OpaqueStore(new MemoryStateStore())))
            .RouteTier(StateTier.Shared, "opaque");
        await using var provider = services.BuildServiceProvider();
        Assert.That(provider.GetRequiredService<IStateStore>().GetService<IStateChangeFeed>(), Is.Null);
    }

    [Test]
    public async Task StoresAndTiers_FromConfigurationAlone()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Stores:durable:Store:Type"] = "sqlite",
            ["StateKit:Stores:durable:Store:Path"] = Path.Combine(_dir, "config.db"),
            ["StateKit:Stores:durable:MaxValueBytes"] = "100",
            ["StateKit:Stores:durable:L1:MaxEntries"] = "50",
            ["StateKit:Tiers:Persistent"] = "durable",
        }).Build();
        var builder = TestHost.CreateBuilder();
        builder.Services.AddStateKit(config.GetSection("StateKit")).AddStore("durable", s => s.UseL1());
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var durable = host.Services.GetRequiredKeyedService<IStateStore>("durable");
            Assert.That(durable.GetService<L1StateStore>(), Is.Not.Null);
            Assert.That(host.Services.GetRequiredService<IOptionsMonitor<L1StateStoreOptions>>().Get("durable").MaxEntries, Is.EqualTo(50));
            Assert.That(durable.GetService<SqliteStateStore>(), Is.Not.Null);
            await Assert.ThrowsAsync<StateValueTooLargeException>(async () =>
                await host.Services.GetRequiredService<IStateProvider>().SetAsync(StateScope.Persistent("a"), "k", new string('x', 200)));
            await host.Services.GetRequiredService<IStateProvider>().SetAsync(StateScope.Persistent("a"), "k", "small");
            Assert.That(await ListAsync(durable), Does.Contain("persistent/a/v/k"));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Test]
    public async Task TierNamingAnUnknownStore_FailsTheStart()
    {
        var builder = TestHost.CreateBuilder();
        builder.Services.AddStateKit().AddStore("durable", s => s.UseMemory()).RouteTier(StateTier.Persistent, "durabel");
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.That(error!.Message, Does.Contain("StateKit:Tiers:Persistent").And.Contain("'durabel'").And.Contain("'durable'"));
    }

    [Test]
    public async Task NamedStoreWithUnknownType_FailsTheStartNamingItsPath()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Stores:cold:Store:Type"] = "tape",
        }).Build();
        var builder = TestHost.CreateBuilder();
        builder.Services.AddStateKit(config.GetSection("StateKit"));
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.That(error!.Message, Does.Contain("StateKit:Stores:cold:Store:Type 'tape' is unknown"));
    }

    [Test]
    public async Task NamedStoreMissingItsConnectionString_FailsTheStartNamingItsOwnPath()
    {
        // Issue 23, item 17: the message named StateKit:Store:ConnectionString, the default store's setting.
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Stores:durable:Store:Type"] = "sqlite",
        }).Build();
        var builder = TestHost.CreateBuilder();
        _ = typeof(SqliteStateStore); // its assembly loaded, so "sqlite" names a known type
        builder.Services.AddStateKit(config.GetSection("StateKit"));
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.That(error!.Message, Does.Contain("StateKit:Stores:durable:Store:ConnectionString"));
    }

    [Test]
    public void BadStoreNamesAndNesting_AreRefused()
    {
        var builder = new ServiceCollection().AddStateKit();
        Assert.Throws<ArgumentException>(() => builder.AddStore("", _ => { }));
        Assert.Throws<ArgumentException>(() => builder.AddStore("has space", _ => { }));
        Assert.Throws<ArgumentException>(() => builder.AddStore(new string('a', 65), _ => { }));
        Assert.Throws<InvalidOperationException>(() => builder.AddStore("outer", s => s.AddStore("inner", _ => { })));
        Assert.Throws<InvalidOperationException>(() => builder.AddStore("outer2", s => s.RouteTier(StateTier.Local, "outer2")));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.RouteTier((StateTier)42, "outer"));
    }

    [Test]
    public async Task SessionOptions_BindFromConfiguration_SharedThenPerType()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Sessions:Name"] = "ignored",
            ["StateKit:Sessions:IdleTimeout"] = "00:05:00",
            ["StateKit:Sessions:AbsoluteTimeout"] = "02:00:00",
            ["StateKit:Sessions:Chat:MaxStateBytes"] = "300",
        }).Build();
        var builder = TestHost.CreateBuilder();
        builder.Services.AddStateKit(config.GetSection("StateKit")).AddSessions<Chat>(o => o.AbsoluteTimeout = TimeSpan.FromHours(3));
        using var host = builder.Build();
        var sessions = host.Services.GetRequiredService<ISessionManager<Chat>>();

        var session = await sessions.CreateAsync(new Chat { Turns = 1 });
        var idle = session.ExpiresAt!.Value - session.CreatedAt;
        Assert.That(idle, Is.EqualTo(TimeSpan.FromMinutes(5)).Within(TimeSpan.FromSeconds(5)), "StateKit:Sessions:IdleTimeout");
        await Assert.ThrowsAsync<SessionStateTooLargeException>(async () => await sessions.CreateAsync(new Chat { Turns = 2, Text = new string('x', 1000) }));
        var options = host.Services.GetRequiredService<IOptionsMonitor<SessionOptions>>().Get(typeof(Chat).FullName);
        Assert.That(options.AbsoluteTimeout, Is.EqualTo(TimeSpan.FromHours(3)), "code wins over configuration");
        Assert.That(options.Name, Is.Null, "the shared section never names a session type");
    }

    private static async Task<List<string>> ListAsync(IStateStore store, string prefix = "")
    {
        var keys = new List<string>();
        await foreach (var key in store.ListKeysAsync(prefix))
        {
            keys.Add(key);
        }

        return keys;
    }

    public sealed class Chat
    {
        public int Turns { get; set; }

        public string Text { get; set; } = string.Empty;
    }
}

/// <summary>The tier layout the agent-state research describes, on real servers: Local in memory, Session on Redis, Persistent on PostgreSQL.</summary>
public sealed class NamedServerStoreTests
{
    [Test]
    public async Task TiersOnMemoryRedisAndPostgres_EachLandsOnItsServer()
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        var services = new ServiceCollection();
        services.AddStateKit()
            .AddStore("sessions", s => s.UseRedis(TestServers.Redis, o => o.RedisKeyPrefix = "named" + id).UseL1())
            .AddStore("durable", s => s.UsePostgres(TestServers.Postgres, o => o.TablePrefix = "named" + id))
            .RouteTier(StateTier.Session, "sessions")
            .RouteTier(StateTier.Persistent, "durable")
            .AddSessions<NamedStoreTests.Chat>();
        await using var provider = services.BuildServiceProvider();
        var state = provider.GetRequiredService<IStateProvider>();

        var session = await provider.GetRequiredService<ISessionManager<NamedStoreTests.Chat>>().CreateAsync(new NamedStoreTests.Chat { Turns = 1 });
        await state.SetAsync(session.Scope, "draft", "hi");
        await state.SetAsync(StateScope.Persistent("agent"), "memory", "likes tea");
        await state.SetAsync(StateScope.Local("agent"), "scratch", 7);

        var redis = provider.GetRequiredKeyedService<IStateStore>("sessions");
        var postgres = provider.GetRequiredKeyedService<IStateStore>("durable");
        Assert.That(redis.GetService<StateKit.Redis.RedisStateStore>(), Is.Not.Null);
        Assert.That(postgres.GetService<StateKit.Postgres.PostgresStateStore>(), Is.Not.Null);
        Assert.That(await postgres.ExistsAsync("persistent/agent/v/memory"), Is.True);
        Assert.That(await redis.ExistsAsync("persistent/agent/v/memory"), Is.False);
        Assert.That(await redis.ExistsAsync(StoreKeyOf(session.Scope, "draft")), Is.True);
        Assert.That(await postgres.ExistsAsync("local/agent/v/scratch") || await redis.ExistsAsync("local/agent/v/scratch"), Is.False, "Local stays on the default (memory) store");
        Assert.That(await provider.GetRequiredService<IStateStore>().ExistsAsync("local/agent/v/scratch"), Is.True);

        var read = await provider.GetRequiredService<ISessionManager<NamedStoreTests.Chat>>().GetAsync(session.Id);
        Assert.That(read!.State.Turns, Is.EqualTo(1));
        await state.ClearScopeAsync(StateScope.Persistent("agent"));
        Assert.That(await postgres.ExistsAsync("persistent/agent/v/memory"), Is.False);
    }

    private static string StoreKeyOf(StateScope scope, string key) => $"session/{scope.OwnerId}/v/{key}";
}
