using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Serialization;

namespace StateKit.Tests.Issues;

/// <summary>
/// The behaviours the security review found sound, pinned so they stay so (issue 30): 128-bit URL-safe session ids,
/// JSON that never honours <c>$type</c>, mutated envelopes that decode or fail typed, and hostile key prefixes that stay
/// isolated on every store.
/// </summary>
public sealed class SoundSecurityBehaviourTests
{
    public sealed record Chat(int Turns = 0);

    public sealed record Profile(string Name, object? Extra);

    [Test]
    public async Task SessionIds_Are128BitsFromTheRng_UrlSafe_AndNeverRepeat()
    {
        var services = new ServiceCollection();
        services.AddStateKit().AddSessions<Chat>();
        await using var provider = services.BuildServiceProvider();
        var sessions = provider.GetRequiredService<ISessionManager<Chat>>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 2000; i++)
        {
            var id = (await sessions.CreateAsync()).Id;
            Assert.That(id, Does.Match("^[A-Za-z0-9_-]{22}$"));
            Assert.That(Convert.FromBase64String(id.Replace('-', '+').Replace('_', '/') + "=="), Has.Length.EqualTo(16), "128 bits");
            ids.Add(id);
        }

        Assert.That(ids, Has.Count.EqualTo(2000));
    }

    [Test]
    public void Json_NeverHonoursTypeMetadata()
    {
        var codec = new StateValueCodec();
        var planted = codec.Encode(new Dictionary<string, object?>
        {
            ["Name"] = "x",
            ["Extra"] = new Dictionary<string, object?> { ["$type"] = "System.IO.FileInfo, System.Private.CoreLib", ["fileName"] = "/etc/passwd" },
        });
        var profile = codec.Decode<Profile>(planted);
        Assert.That(profile!.Extra, Is.InstanceOf<System.Text.Json.JsonElement>(), "an object property stays JSON: no type named in the data is ever created");
    }

    [Test]
    public void MutatedEnvelopes_DecodeOrFailTyped_NeverAnythingElse()
    {
        var random = new Random(30);
        foreach (var compression in new[] { StateCompression.None, StateCompression.Brotli, StateCompression.GZip })
        {
            var codec = new StateValueCodec(null, new StateEnvelopeOptions { Compression = compression, CompressionThresholdBytes = 16 });
            var original = codec.Encode(new Profile(new string('n', 300), 42));
            for (var i = 0; i < 7000; i++)
            {
                var mutated = original.ToArray();
                switch (random.Next(4))
                {
                    case 0: mutated[random.Next(mutated.Length)] ^= (byte)(1 << random.Next(8)); break;
                    case 1: mutated = mutated[..random.Next(mutated.Length)]; break;
                    case 2: mutated[random.Next(mutated.Length)] = (byte)random.Next(256); break;
                    default: random.NextBytes(mutated.AsSpan(StateValueCodec.HeaderSize)); break;
                }

                try
                {
                    codec.Decode<Profile>(mutated);
                }
                catch (StateCorruptedException)
                {
                    // the only failure allowed
                }
            }
        }
    }

    [Test]
    public async Task AStalledChangeFeedSubscriber_IsBounded_AndToldToResync()
    {
        // Found while pinning this: the bounded queue dropped notices silently (DropWrite makes TryWrite answer true), so
        // an overflowing subscriber (an L1 tier) never got its resync and could serve values that had changed.
        var store = new MemoryStateStore();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = 0;
        var resynced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await store.SubscribeAsync(string.Empty, async (change, _) =>
        {
            if (change.Kind == StateStoreChangeKind.Resync)
            {
                resynced.TrySetResult();
                return;
            }

            Interlocked.Increment(ref received);
            await gate.Task; // a subscriber that stops reading
        });
        for (var i = 0; i < 40_000; i++)
        {
            await store.SetAsync("k" + (i % 100), new byte[] { 1 });
        }

        gate.SetResult();
        await resynced.Task.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.That(received, Is.LessThan(20_000), "the queue is bounded: what did not fit is replaced by one resync notice");
        await store.DisposeAsync();
    }

    [TestCase("file")]
    [TestCase("sqlite")]
    [TestCase("postgres")]
    [TestCase("redis")]
    public async Task HostilePrefixes_OnOneBackend_StayIsolated(string kind)
    {
        string[] prefixes = ["app", "app:x", "app/", "app*", "app?", "app[1]", "app%", "app'; --", "app\"x"];
        var root = Directory.CreateTempSubdirectory("statekit-prefixes-").FullName;
        var schema = "sk_prefix_" + Guid.NewGuid().ToString("N")[..10];
        var redisPrefix = "sktest-prefixes-" + Guid.NewGuid().ToString("N")[..8];
        var stores = new List<(string Prefix, IStateStore Store)>();
        try
        {
            foreach (var prefix in prefixes)
            {
                // Every store on the same directory, database file, schema or Redis key space: only the key prefix differs.
                IStateStore store = kind switch
                {
                    "file" => new StateKit.File.FileStateStore(new StateKit.File.FileStateStoreOptions { RootPath = root, KeyPrefix = prefix }),
                    "sqlite" => new StateKit.Sqlite.SqliteStateStore(new StateKit.Sqlite.SqliteStateStoreOptions { ConnectionString = Path.Combine(root, "state.db"), KeyPrefix = prefix }),
                    "postgres" => new StateKit.Postgres.PostgresStateStore(new StateKit.Postgres.PostgresStateStoreOptions { ConnectionString = TestServers.Postgres, Schema = schema, KeyPrefix = prefix }),
                    _ => new StateKit.Redis.RedisStateStore(new StateKit.Redis.RedisStateStoreOptions { Configuration = TestServers.Redis, RedisKeyPrefix = redisPrefix, KeyPrefix = prefix }),
                };
                stores.Add((prefix, store));
                await store.SetAsync("k", Encoding.UTF8.GetBytes(prefix));
                await store.ListAppendAsync("l", [Encoding.UTF8.GetBytes(prefix)]);
            }

            foreach (var (prefix, store) in stores)
            {
                Assert.That(Encoding.UTF8.GetString((await store.GetAsync("k"))!.Value.Span), Is.EqualTo(prefix), $"'{prefix}' reads its own value");
                Assert.That((await store.ListRangeAsync("l")).Select(i => Encoding.UTF8.GetString(i.Span)), Is.EqualTo(new[] { prefix }));
                var keys = new List<string>();
                await foreach (var key in store.ListKeysAsync())
                {
                    keys.Add(key);
                }

                Assert.That(keys, Is.EqualTo(new[] { "k" }), $"'{prefix}' lists only its own keys");
            }
        }
        finally
        {
            foreach (var (_, store) in stores)
            {
                await store.DisposeAsync();
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, recursive: true);
            if (kind == "postgres")
            {
                await using var dataSource = Npgsql.NpgsqlDataSource.Create(TestServers.Postgres);
                await using var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                await drop.ExecuteNonQueryAsync();
            }
        }
    }
}
