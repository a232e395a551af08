using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NUnit.Framework;
using StateKit.File;
using StateKit.Postgres;
using StateKit.Redis;
using StateKit.Sqlite;

namespace StateKit.Tests.Pipeline.Encryption;

/// <summary>
/// Issue 26: with encryption on, no copy of a value holds plaintext: the backend (each of the five stores, read raw:
/// files, the SQLite database and its WAL, PostgreSQL rows, Redis keys, the memory store's arrays), the write-behind
/// journal, the fallback store's files and the memory budget's spill files, for typed values and their history, lists,
/// checkpoints and sessions. The same run without encryption finds the marker in the backend and the fallback copy,
/// so the scan is shown able to find it.
/// </summary>
[TestFixture("memory")]
[TestFixture("file")]
[TestFixture("sqlite")]
[TestFixture("postgres")]
[TestFixture("redis")]
public sealed class EncryptionAtRestTests(string kind)
{
    private const string Marker = "PLAINTEXT-MARKER-7f3a";
    private static readonly byte[] MarkerBytes = Encoding.UTF8.GetBytes(Marker);
    private readonly string _schema = "sk_enc_" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _redisPrefix = "skenc-" + Guid.NewGuid().ToString("N")[..10];
    private string _root = null!;
    private MemoryStateStore? _memory;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("statekit-enc-").FullName;

    [TearDown]
    public async Task TearDownAsync()
    {
        if (_memory is not null)
        {
            await _memory.DisposeAsync();
            _memory = null;
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
        if (kind == "postgres")
        {
            await TestServers.DropSchemaAsync(_schema);
        }
        else if (kind == "redis")
        {
            await RedisAsync(async (server, db) =>
            {
                await foreach (var key in server.KeysAsync(pattern: _redisPrefix + "*"))
                {
                    await db.KeyDeleteAsync(key);
                }
            });
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task EveryCopy_HoldsCiphertext(bool encrypted)
    {
        var (k1, _) = TestKeys.New("k1");
        var services = new ServiceCollection();
        var builder = services.AddStateKit(o => o.PurgeInterval = TimeSpan.Zero);
        Backend(builder);
        builder.UseWriteBehind(Path.Combine(_root, "journal"))
            .AddStore("copy", b => b.UseFileSystem(Path.Combine(_root, "copy")))
            .UseFallback("copy")
            .AddSessions<Chat>();
        if (kind == "memory")
        {
            builder.UseMemoryBudget(2048, Path.Combine(_root, "spill"));
        }

        if (encrypted)
        {
            builder.UseEncryption(o => o.KeyRing = TestKeys.Ring(k1));
        }

        var found = new List<string>();
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<IStateStore>();
            Assert.That(store.DescribePipeline(), Does.Contain(encrypted ? "encryption > write-behind > fallback[copy]" : "telemetry > write-behind > fallback[copy]"));
            var state = provider.GetRequiredService<IStateProvider>();
            var scope = StateScope.Shared("agent-1");
            for (var i = 0; i < 8; i++)
            {
                await state.SetAsync(scope, "note-" + i, new Chat(Marker + " note " + i + new string('x', 400)));
            }

            await state.UpdateAsync<Chat>(scope, "note-0", c => new Chat(c!.Text + " edited"));
            await state.AppendAsync(scope, "turns", new[] { new Chat(Marker + " turn 1"), new Chat(Marker + " turn 2") });
            await state.CreateCheckpointAsync(scope, "before-tool");
            var sessions = provider.GetRequiredService<ISessionManager<Chat>>();
            await sessions.CreateAsync(new Chat(Marker + " session"));

            await store.GetRequiredService<IWriteBehindStatus>().FlushAsync();
            Assert.That((await state.GetAsync<Chat>(scope, "note-0"))!.Value.Text, Does.StartWith(Marker), "callers read plaintext");
            var copy = provider.GetRequiredKeyedService<IStateStore>("copy");
            for (var i = 0; i < 500 && !await copy.ListKeysAsync().AnyAsync(); i++)
            {
                await Task.Delay(10);
            }

            if (kind == "memory")
            {
                var memory = store.GetRequiredService<MemoryStateStore>();
                found.AddRange(memory.StoredBytesForTest().Where(s => Holds(s.Bytes)).Select(s => "memory:" + s.Key));
            }

            await Task.Delay(200); // let the fallback mirror finish what it started
            found.AddRange(FilesHolding()); // while open: the spill files go when the store is disposed
        }

        found.AddRange(FilesHolding());
        found.AddRange(await ServerLocationsAsync());
        found = found.Distinct().ToList();
        TestContext.Out.WriteLine(string.Join("\n", found));
        if (encrypted)
        {
            Assert.That(found, Is.Empty, "no store, journal, mirror or spill file holds the plaintext");
        }
        else
        {
            Assert.That(found.Where(f => f.StartsWith("copy", StringComparison.Ordinal)), Is.Not.Empty, "control: the fallback copy holds plaintext");
            Assert.That(found.Where(f => f.StartsWith("journal", StringComparison.Ordinal)), Is.Not.Empty, "control: the write-behind journal holds plaintext");
            Assert.That(found.Where(f => !f.StartsWith("copy", StringComparison.Ordinal) && !f.StartsWith("journal", StringComparison.Ordinal) && !f.StartsWith("spill", StringComparison.Ordinal)), Is.Not.Empty, "control: the " + kind + " backend holds plaintext");
            if (kind == "memory")
            {
                Assert.That(found.Where(f => f.StartsWith("spill", StringComparison.Ordinal)), Is.Not.Empty, "control: the spill files hold plaintext");
            }
        }
    }

    [Test]
    public async Task Rotation_Rewrap_Retire_AndAMovedValue_OnTheStore()
    {
        var (k1, _) = TestKeys.New("k1");
        var (k2, _) = TestKeys.New("k2");
        var ring = TestKeys.Ring(k1);
        await using (var first = App(() => ring))
        {
            var store = first.GetRequiredService<IStateStore>();
            for (var i = 0; i < 30; i++)
            {
                await store.SetAsync("doc/" + i, Encoding.UTF8.GetBytes(Marker + i), new StateWriteOptions(TimeToLive: i % 3 == 0 ? TimeSpan.FromHours(2) : null));
            }

            await store.ListAppendAsync("turns", [MarkerBytes]);
        }

        ring = TestKeys.Ring(k2, k1);
        await using (var rotated = App(() => ring))
        {
            var store = rotated.GetRequiredService<IStateStore>();
            Assert.That(Encoding.UTF8.GetString((await store.GetAsync("doc/7"))!.Value.Span), Is.EqualTo(Marker + 7), "read with the retired key");
            var expiries = new Dictionary<string, DateTimeOffset?>();
            for (var i = 0; i < 30; i++)
            {
                expiries["doc/" + i] = (await store.GetAsync("doc/" + i))!.ExpiresAt;
            }

            var result = await store.GetRequiredService<IStateEncryptionStatus>().RewrapAsync("doc/");
            Assert.That(result, Is.EqualTo(new StateRewrapProgress(30, 30)));
            Assert.That((await store.GetRequiredService<IStateEncryptionStatus>().RewrapAsync("doc/")).Rewrapped, Is.Zero);
            foreach (var (key, expiry) in expiries)
            {
                Assert.That((await store.GetAsync(key))!.ExpiresAt, Is.EqualTo(expiry), key + ": the expiry stays");
            }
        }

        ring = TestKeys.Ring(k2);
        await using var retired = App(() => ring);
        var current = retired.GetRequiredService<IStateStore>();
        for (var i = 0; i < 30; i++)
        {
            Assert.That(Encoding.UTF8.GetString((await current.GetAsync("doc/" + i))!.Value.Span), Is.EqualTo(Marker + i), "k1 retired");
        }

        var missing = await Assert.ThrowsAsync<StateEncryptionKeyNotFoundException>(async () => await current.ListRangeAsync("turns"));
        Assert.That(missing!.KeyId, Is.EqualTo("k1"), "list items keep the key they were written with");

        // A value copied to another key in the database fails authentication on this store.
        var backend = BackendOf(current);
        var sealedValue = (await backend.GetAsync("doc/1"))!.Value;
        await backend.SetAsync("copied", sealedValue); // a key L1 has not held
        Assert.That((await Assert.ThrowsAsync<StateCorruptedException>(async () => await current.GetAsync("copied")))!.Message, Does.Contain("failed authentication"));
    }

    /// <summary>A container over this fixture's store (same location each time) with encryption from <paramref name="ring"/>.</summary>
    private ServiceProvider App(Func<IStateEncryptionKeyRing> ring)
    {
        var services = new ServiceCollection();
        var builder = services.AddStateKit(o => o.PurgeInterval = TimeSpan.Zero);
        if (kind == "memory")
        {
            _memory ??= new MemoryStateStore();
            var shared = _memory;
            builder.UseStore(_ => new Borrowed(shared));
        }
        else
        {
            Backend(builder);
        }

        builder.UseL1().UseEncryption(o => o.KeyRing = ring());
        return services.BuildServiceProvider();
    }

    /// <summary>The backend below every layer, to read and write stored bytes as they are.</summary>
    private static IStateStore BackendOf(IStateStore store) => StateKit.StateStoreExtensions.PipelineLayers(store).Last();

    private static bool Holds(byte[] bytes) => bytes.AsSpan().IndexOf(MarkerBytes) >= 0;

    private IEnumerable<string> FilesHolding() =>
        Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories)
            .Where(f => Holds(System.IO.File.ReadAllBytes(f)))
            .Select(f => Path.GetRelativePath(_root, f))
            .ToList();

    private void Backend(StateKitBuilder builder)
    {
        switch (kind)
        {
            case "memory":
                builder.UseMemory();
                break;
            case "file":
                builder.UseFileSystem(Path.Combine(_root, "files"));
                break;
            case "sqlite":
                builder.UseSqlite(Path.Combine(_root, "sqlite", "state.db"));
                break;
            case "postgres":
                builder.UsePostgres(TestServers.Postgres, o => o.Schema = _schema);
                break;
            case "redis":
                builder.UseRedis(TestServers.Redis, o => o.RedisKeyPrefix = _redisPrefix);
                break;
            default:
                throw new AssertionException("unknown store " + kind);
        }
    }

    /// <summary>The PostgreSQL rows (every table of the schema, as text: bytea as hex) or Redis keys that hold the marker.</summary>
    private async Task<List<string>> ServerLocationsAsync()
    {
        var found = new List<string>();
        if (kind == "postgres")
        {
            var hex = "\\x" + Convert.ToHexStringLower(MarkerBytes);
            await using var dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
            var tables = new List<string>();
            await using (var list = dataSource.CreateCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = @s"))
            {
                list.Parameters.AddWithValue("s", _schema);
                await using var reader = await list.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    tables.Add(reader.GetString(0));
                }
            }

            Assert.That(tables, Is.Not.Empty, "the schema has tables to look into");
            foreach (var table in tables)
            {
                await using var rows = dataSource.CreateCommand($"SELECT t::text FROM \"{_schema}\".\"{table}\" t");
                await using var reader = await rows.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    var text = reader.GetString(0);
                    if (text.Contains(Marker, StringComparison.Ordinal) || ContainsHex(text, MarkerBytes))
                    {
                        found.Add("postgres:" + table);
                    }
                }
            }
        }
        else if (kind == "redis")
        {
            await RedisAsync(async (server, db) =>
            {
                await foreach (var key in server.KeysAsync(pattern: _redisPrefix + "*"))
                {
                    var type = await db.KeyTypeAsync(key);
                    IEnumerable<byte[]> values = type switch
                    {
                        StackExchange.Redis.RedisType.String => [(byte[])(await db.StringGetAsync(key))!],
                        StackExchange.Redis.RedisType.Hash => (await db.HashGetAllAsync(key)).Select(e => (byte[])e.Value!),
                        StackExchange.Redis.RedisType.List => (await db.ListRangeAsync(key)).Select(v => (byte[])v!),
                        StackExchange.Redis.RedisType.SortedSet => (await db.SortedSetRangeByRankAsync(key)).Select(v => (byte[])v!),
                        StackExchange.Redis.RedisType.Set => (await db.SetMembersAsync(key)).Select(v => (byte[])v!),
                        _ => [],
                    };
                    if (values.Any(Holds))
                    {
                        found.Add("redis:" + (string?)key);
                    }
                }
            });
        }

        return found;
    }

    /// <summary>Whether the text holds <paramref name="bytes"/> as PostgreSQL prints bytea (lower-case hex), anywhere in a value.</summary>
    private static bool ContainsHex(string text, byte[] bytes) => text.Contains(Convert.ToHexStringLower(bytes), StringComparison.Ordinal);

    private static async Task RedisAsync(Func<StackExchange.Redis.IServer, StackExchange.Redis.IDatabase, Task> action)
    {
        await using var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        await action(multiplexer.GetServers()[0], multiplexer.GetDatabase());
    }

    /// <summary>A conversation record.</summary>
    /// <param name="Text">Its text.</param>
    public sealed record Chat(string Text)
    {
        /// <summary>Initializes a new instance of the <see cref="Chat"/> class, empty.</summary>
        public Chat()
            : this(string.Empty)
        {
        }
    }
}
