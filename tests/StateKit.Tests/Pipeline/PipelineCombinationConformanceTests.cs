using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.File;
using StateKit.Postgres;
using StateKit.Redis;
using StateKit.Sqlite;
using StateKit.Testing;

namespace StateKit.Tests.Pipeline;

/// <summary>
/// Issue 24: the conformance suite over pipelines built the way users build them (<c>AddStateKit()</c> and the
/// <c>Use…</c> calls), two and three layers together, on the stores where the combination applies: L1 + write-behind
/// (every store), L1 + fallback (memory → memory, Redis → SQLite, SQLite → memory), a value transform + fallback
/// (memory → memory, PostgreSQL → file, file → memory), a transform + write-behind (memory, SQLite, Redis), a memory
/// budget + L1, L1 + transform + write-behind on PostgreSQL, and all four feature layers together on memory. Issue 26:
/// encryption with write-behind, fallback, L1 and the memory budget on every store (the backends' value limit raised by
/// the encryption overhead, as the README says, so the limit callers see is the suite's). Issue 25: the Redis store in
/// its hash-slot layout on the test Redis Cluster under L1 + write-behind, a transform + encryption + fallback to SQLite,
/// and L1 + encryption.
/// </summary>
[TestFixture("memory", "l1+write-behind")]
[TestFixture("sqlite", "l1+write-behind")]
[TestFixture("postgres", "l1+write-behind")]
[TestFixture("redis", "l1+write-behind")]
[TestFixture("file", "l1+write-behind")]
[TestFixture("sqlite", "l1+fallback")]
[TestFixture("file", "transform+fallback")]
[TestFixture("redis", "transform+write-behind")]
[TestFixture("postgres", "l1+transform+write-behind")]
[TestFixture("memory", "l1+transform+write-behind+fallback")]
[TestFixture("memory", "l1+fallback")]
[TestFixture("redis", "l1+fallback")]
[TestFixture("memory", "transform+fallback")]
[TestFixture("postgres", "transform+fallback")]
[TestFixture("memory", "transform+write-behind")]
[TestFixture("sqlite", "transform+write-behind")]
[TestFixture("memory", "budget+l1")]
[TestFixture("memory", "l1+encryption+write-behind+fallback")]
[TestFixture("memory", "encryption+budget")]
[TestFixture("file", "encryption+write-behind")]
[TestFixture("sqlite", "transform+encryption+write-behind")]
[TestFixture("sqlite", "l1+encryption+fallback")]
[TestFixture("postgres", "encryption+write-behind")]
[TestFixture("redis", "l1+encryption")]
[TestFixture("redis", "encryption+fallback")]
[TestFixture("redis-cluster", "l1+write-behind")]
[TestFixture("redis-cluster", "transform+encryption+fallback")]
[TestFixture("redis-cluster", "l1+encryption")]
public sealed class PipelineCombinationConformanceTests(string kind, string combo) : StateStoreConformanceTests<IStateStore>
{
    private readonly List<ServiceProvider> _providers = [];
    private readonly Dictionary<string, IStateStore> _stores = new(StringComparer.Ordinal);
    private readonly string _schema = "sk_combo_" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _redisPrefix = "skcombo-" + Guid.NewGuid().ToString("N")[..10];
    private readonly StateEncryptionKeyRing _ring = Encryption.TestKeys.Ring(Encryption.TestKeys.New(Encryption.EncryptingStateStoreConformanceTests.ConformanceKeyId).Key);
    private string _root = null!;

    [OneTimeSetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("statekit-combo-").FullName;

    [OneTimeTearDown]
    public async Task RemoveAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
        if (kind == "postgres")
        {
            await TestServers.DropSchemaAsync(_schema);
        }
        else if (kind is "redis" or "redis-cluster")
        {
            await TestServers.DeleteRedisKeysAsync(_redisPrefix, cluster: kind == "redis-cluster");
        }
    }

    protected override ValueTask<IStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var keyPrefix = options.KeyPrefix;
        if (combo.Split('+').Contains("encryption"))
        {
            // The stores' limit counts the stored (encrypted) bytes: raised by the overhead, callers keep the suite's limit.
            var backendOptions = new StateStoreOptions();
            options.CopyTo(backendOptions);
            backendOptions.MaxValueBytes += Encryption.EncryptingStateStoreConformanceTests.Overhead;
            options = backendOptions;
        }

        var services = new ServiceCollection();
        services.AddSingleton(timeProvider);
        var builder = services.AddStateKit(o =>
        {
            options.CopyTo(o);
            o.PurgeInterval = TimeSpan.Zero;
        });
        var directory = Path.Combine(_root, keyPrefix);
        Backend(builder, kind, options, directory);
        foreach (var layer in combo.Split('+'))
        {
            switch (layer)
            {
                case "l1":
                    builder.UseL1();
                    break;
                case "write-behind":
                    builder.UseWriteBehind(Path.Combine(directory, "journal"), o => o.SegmentBytes = 64 * 1024);
                    break;
                case "transform":
                    builder.Decorate((s, _) => new XorStore(s));
                    break;
                case "encryption":
                    builder.UseEncryption(o => o.KeyRing = _ring);
                    break;
                case "budget":
                    builder.UseMemoryBudget(1024, Path.Combine(directory, "spill"));
                    break;
                case "fallback":
                    var copyKind = kind switch { "redis" or "redis-cluster" => "sqlite", "postgres" => "file", _ => "memory" };
                    builder.AddStore("copy", b =>
                    {
                        b.Services.Configure<StateKitOptions>("copy", o => options.CopyTo(o));
                        Backend(b, copyKind, options, Path.Combine(directory, "copy"));
                    });
                    builder.UseFallback("copy");
                    break;
                default:
                    throw new AssertionException($"unknown layer {layer}");
            }
        }

        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        var store = provider.GetRequiredService<IStateStore>();
        _stores[options.KeyPrefix] = store;
        return new(store);
    }

    /// <summary>Through <c>AddStateKit()</c> an invalid prefix fails the options validation, naming <c>StateKit:KeyPrefix</c>, before any store exists.</summary>
    [Test]
    public override async Task KeyPrefix_Invalid_IsRefusedAtCreation()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(async () => await CreateStoreAsync(new StateStoreOptions { KeyPrefix = "../escape" }, TimeProvider.System));
        Assert.That(error!.Message, Does.Contain("StateKit:KeyPrefix '../escape'"));
    }

    protected override async ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key)
    {
        if (!_stores.TryGetValue(keyPrefix, out var store))
        {
            return false;
        }

        if (store.GetService<IWriteBehindStatus>() is { } writeBehind)
        {
            await writeBehind.FlushAsync();
        }

        return kind switch
        {
            "memory" => store.GetService<MemoryStateStore>() is { } memory && memory.DamageValueForTest(key),
            "postgres" => await Postgres.PostgresStateStoreConformanceTests.DamageAsync(_schema, keyPrefix, key),
            "redis" => await Redis.RedisStateStoreConformanceTests.DamageAsync(_redisPrefix, keyPrefix, key),
            "redis-cluster" => await Redis.RedisStateStoreConformanceTests.DamageAsync(_redisPrefix, keyPrefix, key, RedisKeyLayout.HashSlots, cluster: true),
            "file" => await File.FileStateStoreConformanceTests.DamageAsync(Path.Combine(_root, keyPrefix), keyPrefix, key),
            _ => await Sqlite.SqliteStateStoreConformanceTests.DamageAsync(Path.Combine(_root, keyPrefix, "state.db"), keyPrefix, key),
        };
    }

    private void Backend(StateKitBuilder builder, string backend, StateStoreOptions options, string directory)
    {
        switch (backend)
        {
            case "memory":
                builder.UseMemory();
                break;
            case "file":
                builder.UseFileSystem(directory, o => options.CopyTo(o));
                break;
            case "sqlite":
                builder.UseSqlite(Path.Combine(directory, "state.db"), o => options.CopyTo(o));
                break;
            case "postgres":
                builder.UsePostgres(TestServers.Postgres, o =>
                {
                    options.CopyTo(o);
                    o.Schema = _schema;
                });
                break;
            case "redis":
            case "redis-cluster":
                builder.UseRedis(backend == "redis" ? TestServers.Redis : TestServers.RedisCluster, o =>
                {
                    options.CopyTo(o);
                    o.RedisKeyPrefix = _redisPrefix;
                });
                break;
            default:
                throw new AssertionException($"unknown backend {backend}");
        }
    }
}
