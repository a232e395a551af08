using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.File;
using StateKit.Postgres;
using StateKit.Redis;
using StateKit.Sqlite;
using StateKit.Tests.Pipeline.Encryption;

namespace StateKit.Tests.Serialization;

/// <summary>
/// Issue 26: versioned state types. A type declares its schema version (<see cref="StateVersionAttribute"/>); values
/// stored at older versions (by earlier releases of the app) are brought up to it on read through the registered
/// upgraders, typed or on the JSON document, across three versions; a value written by a newer version is refused, never
/// read wrongly or overwritten. On every store, through L1 and encryption: typed values, history, lists and sessions.
/// </summary>
[TestFixture("memory")]
[TestFixture("file")]
[TestFixture("sqlite")]
[TestFixture("postgres")]
[TestFixture("redis")]
public sealed class VersionedStateTests(string kind)
{
    private static readonly StateScope Scope = StateScope.Shared("team-7");
    private readonly StateEncryptionKeyRing _ring = TestKeys.Ring(TestKeys.New("k1").Key);
    private readonly string _schema = "sk_ver_" + Guid.NewGuid().ToString("N")[..10];
    private string _redisPrefix = null!;
    private MemoryStateStore _memory = null!;
    private string _root = null!;

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("statekit-ver-").FullName;
        _redisPrefix = "skver-" + Guid.NewGuid().ToString("N")[..10]; // a test's own keys (PostgreSQL: the schema is dropped after each test)
        _memory = new MemoryStateStore();
    }

    [TearDown]
    public async Task TearDownAsync()
    {
        await _memory.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
        if (kind == "postgres")
        {
            await TestServers.DropSchemaAsync(_schema);
        }
        else if (kind == "redis")
        {
            await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
            await foreach (var key in redis.GetServers()[0].KeysAsync(pattern: _redisPrefix + "*"))
            {
                await redis.GetDatabase().KeyDeleteAsync(key);
            }
        }
    }

    [Test]
    public async Task ValuesOfThreeVersions_AreReadAsTheCurrentOne_ThroughTypedAndJsonSteps()
    {
        // Release 1 wrote V1 (no version attribute), release 2 wrote V2; release 3 reads both as V3.
        await using (var release1 = App())
        {
            var state = release1.GetRequiredService<IStateProvider>();
            await state.SetAsync(Scope, "ada", new Release1.Profile("Ada Lovelace", "ada@example.com"));
            await state.AppendAsync(Scope, "log", new[] { new Release1.Profile("Old entry", "x@example.com") });
        }

        await using (var release2 = App())
        {
            var state = release2.GetRequiredService<IStateProvider>();
            await state.SetAsync(Scope, "grace", new Release2.Profile("Grace", "Hopper", "grace@example.com"));
        }

        await using var release3 = App(b => b.AddStateUpgrades<Release3.Profile>(u => u
            .From<Release1.Profile, Release2.Profile>(1, v1 => new Release2.Profile(v1.Name.Split(' ')[0], v1.Name.Split(' ').ElementAtOrDefault(1) ?? string.Empty, v1.Email))
            .FromJson(2, doc =>
            {
                var obj = doc.AsObject();
                obj["contact"] = new JsonObject { ["email"] = obj["email"]!.DeepClone() }; // the JSON serializer's names (camelCase)
                obj.Remove("email");
                return obj;
            })));
        var current = release3.GetRequiredService<IStateProvider>();
        var ada = (await current.GetAsync<Release3.Profile>(Scope, "ada"))!.Value;
        Assert.That(ada, Is.EqualTo(new Release3.Profile("Ada", "Lovelace", new Release3.Contact("ada@example.com"))), "v1 -> v2 (typed) -> v3 (JSON)");
        var grace = (await current.GetAsync<Release3.Profile>(Scope, "grace"))!.Value;
        Assert.That(grace, Is.EqualTo(new Release3.Profile("Grace", "Hopper", new Release3.Contact("grace@example.com"))), "v2 -> v3");
        Assert.That((await current.GetRangeAsync<Release3.Profile>(Scope, "log")).Single().Contact.Email, Is.EqualTo("x@example.com"), "list items too");

        // An update reads the old value through the upgraders and stores the new version; history keeps the old record
        // and reads it upgraded as well.
        var updated = await current.UpdateAsync<Release3.Profile>(Scope, "ada", p => p! with { Last = "King" });
        Assert.That(updated.Value.Contact.Email, Is.EqualTo("ada@example.com"));
        var history = await current.GetHistoryAsync(Scope, "ada");
        Assert.That(history, Has.Count.EqualTo(2));
        var first = await current.GetVersionAsync<Release3.Profile>(Scope, "ada", history.Min(h => h.Version));
        Assert.That(first!.Value.Last, Is.EqualTo("Lovelace"));
        var diff = await current.DiffAsync(Scope, "ada", history.Min(h => h.Version), history.Max(h => h.Version));
        Assert.That(diff, Is.Not.Empty, "diffs read the stored documents as they are");

        // Release 2 meets a value release 3 wrote: refused, typed; an update changes nothing.
        await using var older = App();
        var old = older.GetRequiredService<IStateProvider>();
        var error = await Assert.ThrowsAsync<StateTypeVersionException>(async () => await old.GetAsync<Release2.Profile>(Scope, "ada"));
        Assert.That(error!.StoredVersion, Is.EqualTo(3));
        Assert.That(error.CurrentVersion, Is.EqualTo(2));
        Assert.That(error.Message, Does.Contain("newer version of the application"));
        await Assert.ThrowsAsync<StateTypeVersionException>(async () => await old.UpdateAsync<Release2.Profile>(Scope, "ada", p => p! with { First = "overwritten" }));
        Assert.That((await current.GetAsync<Release3.Profile>(Scope, "ada"))!.Value.Last, Is.EqualTo("King"), "nothing was overwritten");
    }

    [Test]
    public async Task AVersionWithoutAnUpgrader_IsATypedError_AndTheValueStays()
    {
        await using (var release1 = App())
        {
            await release1.GetRequiredService<IStateProvider>().SetAsync(Scope, "ada", new Release1.Profile("Ada Lovelace", "ada@example.com"));
        }

        await using var release3 = App();
        var state = release3.GetRequiredService<IStateProvider>();
        var error = await Assert.ThrowsAsync<StateTypeVersionException>(async () => await state.GetAsync<Release3.Profile>(Scope, "ada"));
        Assert.That(error!.Message, Does.Contain("no upgrader reads version 1").And.Contain("AddStateUpgrades<Profile>"));
        Assert.That((await state.GetAsync<Release1.Profile>(Scope, "ada"))!.Value.Name, Is.EqualTo("Ada Lovelace"), "still there, readable as what it is");
    }

    [Test]
    public async Task Sessions_OfAnOlderShape_AreUpgraded()
    {
        string id;
        await using (var release1 = App(b => b.AddSessions<Release1.Chat>(o => o.Name = "chat")))
        {
            id = (await release1.GetRequiredService<ISessionManager<Release1.Chat>>().CreateAsync(new Release1.Chat { Turns = 4 })).Id;
        }

        await using var release2 = App(b => b.AddSessions<Release2.Chat>(o => o.Name = "chat").AddStateUpgrades<Release2.Chat>(u => u.From<Release1.Chat, Release2.Chat>(1, c => new Release2.Chat { Messages = c.Turns, Model = "unknown" })));
        var session = await release2.GetRequiredService<ISessionManager<Release2.Chat>>().GetAsync(id);
        Assert.That(session!.State.Messages, Is.EqualTo(4));
        Assert.That(session.State.Model, Is.EqualTo("unknown"));
    }

    private ServiceProvider App(Action<StateKitBuilder>? configure = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddStateKit(o => o.PurgeInterval = TimeSpan.Zero);
        switch (kind)
        {
            case "memory":
                builder.UseStore(_ => new Borrowed(_memory));
                break;
            case "file":
                builder.UseFileSystem(Path.Combine(_root, "files"));
                break;
            case "sqlite":
                builder.UseSqlite(Path.Combine(_root, "state.db"));
                break;
            case "postgres":
                builder.UsePostgres(TestServers.Postgres, o => o.Schema = _schema);
                break;
            default:
                builder.UseRedis(TestServers.Redis, o => o.RedisKeyPrefix = _redisPrefix);
                break;
        }

        builder.UseL1().UseEncryption(o => o.KeyRing = _ring);
        configure?.Invoke(builder);
        return services.BuildServiceProvider();
    }
}

/// <summary>The state types as the first release wrote them (no version attribute: version 1).</summary>
internal static class Release1
{
    public sealed record Profile(string Name, string Email);

    public sealed class Chat
    {
        public int Turns { get; set; }
    }
}

/// <summary>The second release: the name split in two.</summary>
internal static class Release2
{
    [StateVersion(2)]
    public sealed record Profile(string First, string Last, string Email);

    [StateVersion(2)]
    public sealed class Chat
    {
        public int Messages { get; set; }

        public string Model { get; set; } = string.Empty;
    }
}

/// <summary>The third release: the e-mail moved into a contact object.</summary>
internal static class Release3
{
    [StateVersion(3)]
    public sealed record Profile(string First, string Last, Contact Contact);

    public sealed record Contact(string Email);
}
