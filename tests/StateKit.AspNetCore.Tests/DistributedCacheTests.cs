using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Internal;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using StateKit.AspNetCore.Internal;
using StateKit.Testing;

namespace StateKit.Tests.AspNetCore;

/// <summary>
/// The StateKit <see cref="IDistributedCache"/> on every store, run side by side with <see cref="MemoryDistributedCache"/>
/// on the same clock: every script gives the same answers on both. ASP.NET Core's own session runs on it across two apps.
/// </summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class DistributedCacheTests(string kind) : StoreFixture(kind)
{
    private readonly string _kind = kind;

    private static readonly DistributedCacheEntryOptions None = new();

    /// <summary>The scripts: each step acts on a cache and may record what Get returned.</summary>
    public static IEnumerable<TestCaseData> Scripts()
    {
        yield return Script("no expiry lives on", async (c, t, log) =>
        {
            await c.SetAsync("k", Bytes("v"), None);
            t.Advance(TimeSpan.FromDays(3));
            await Get(c, "k", log);
        });
        yield return Script("relative absolute expiration", async (c, t, log) =>
        {
            await c.SetAsync("k", Bytes("v"), new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(60) });
            t.Advance(TimeSpan.FromSeconds(59));
            await Get(c, "k", log);
            t.Advance(TimeSpan.FromSeconds(2));
            await Get(c, "k", log);
        });
        yield return Script("absolute expiration date", async (c, t, log) =>
        {
            await c.SetAsync("k", Bytes("v"), new DistributedCacheEntryOptions { AbsoluteExpiration = t.GetUtcNow().AddSeconds(60) });
            t.Advance(TimeSpan.FromSeconds(59));
            await Get(c, "k", log);
            t.Advance(TimeSpan.FromSeconds(2));
            await Get(c, "k", log);
        });
        yield return Script("the sooner of absolute and relative expiration wins (issue 23, item 7)", async (c, t, log) =>
        {
            await c.SetAsync("k", Bytes("v"), new DistributedCacheEntryOptions { AbsoluteExpiration = t.GetUtcNow().AddMinutes(1), AbsoluteExpirationRelativeToNow = TimeSpan.FromHours(1) });
            await c.SetAsync("j", Bytes("w"), new DistributedCacheEntryOptions { AbsoluteExpiration = t.GetUtcNow().AddHours(1), AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) });
            t.Advance(TimeSpan.FromSeconds(59));
            await Get(c, "k", log);
            await Get(c, "j", log);
            t.Advance(TimeSpan.FromSeconds(7));
            await Get(c, "k", log);
            await Get(c, "j", log);
        });
        yield return Script("sliding lives while read", async (c, t, log) =>
        {
            await c.SetAsync("k", Bytes("v"), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(30) });
            for (var i = 0; i < 4; i++)
            {
                t.Advance(TimeSpan.FromSeconds(20));
                await Get(c, "k", log);
            }

            t.Advance(TimeSpan.FromSeconds(31));
            await Get(c, "k", log);
        });
        yield return Script("sliding capped by absolute", async (c, t, log) =>
        {
            await c.SetAsync("k", Bytes("v"), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(30), AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(70) });
            for (var i = 0; i < 3; i++)
            {
                t.Advance(TimeSpan.FromSeconds(20));
                await Get(c, "k", log);
            }

            t.Advance(TimeSpan.FromSeconds(11));
            await Get(c, "k", log);
        });
        yield return Script("refresh slides", async (c, t, log) =>
        {
            await c.SetAsync("k", Bytes("v"), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(30) });
            t.Advance(TimeSpan.FromSeconds(20));
            await c.RefreshAsync("k");
            t.Advance(TimeSpan.FromSeconds(20));
            await Get(c, "k", log);
            t.Advance(TimeSpan.FromSeconds(31));
            await Get(c, "k", log);
        });
        yield return Script("refresh does not extend an absolute expiration", async (c, t, log) =>
        {
            await c.SetAsync("k", Bytes("v"), new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(30) });
            t.Advance(TimeSpan.FromSeconds(20));
            await c.RefreshAsync("k");
            await c.RefreshAsync("missing");
            t.Advance(TimeSpan.FromSeconds(11));
            await Get(c, "k", log);
        });
        yield return Script("set replaces value and expiry", async (c, t, log) =>
        {
            await c.SetAsync("k", Bytes("a"), new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(10) });
            await c.SetAsync("k", Bytes("b"), None);
            t.Advance(TimeSpan.FromSeconds(20));
            await Get(c, "k", log);
        });
        yield return Script("remove", async (c, t, log) =>
        {
            await c.SetAsync("k", Bytes("v"), None);
            await c.RemoveAsync("k");
            await c.RemoveAsync("never-there");
            await Get(c, "k", log);
        });
        yield return Script("relative wins over absolute", async (c, t, log) =>
        {
            await c.SetAsync("k", Bytes("v"), new DistributedCacheEntryOptions { AbsoluteExpiration = t.GetUtcNow().AddHours(1), AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(10) });
            t.Advance(TimeSpan.FromSeconds(9));
            await Get(c, "k", log);
            t.Advance(TimeSpan.FromSeconds(2));
            await Get(c, "k", log);
        });
        yield return Script("any key text, none colliding", async (c, t, log) =>
        {
            string[] keys = ["", "a/b", "a%2Fb", "..", "../../etc/passwd", "back\\slash", "tab\tnew\nline", "ünïcödé ✓", new string('x', 3000), new string('x', 2999) + "y"];
            for (var i = 0; i < keys.Length; i++)
            {
                await c.SetAsync(keys[i], Bytes("value " + i), None);
            }

            foreach (var key in keys)
            {
                await Get(c, key, log);
            }

            await Get(c, "a%252Fb", log);
        });
        yield return Script("empty and binary values", async (c, t, log) =>
        {
            await c.SetAsync("empty", [], None);
            await c.SetAsync("binary", [0, 255, 1, 254], None);
            await Get(c, "empty", log);
            await Get(c, "binary", log);
        });
    }

    [TestCaseSource(nameof(Scripts))]
    public async Task GivesTheAnswersOfMemoryDistributedCache(Func<IDistributedCache, ManualTimeProvider, List<string>, Task> script)
    {
        var memoryTime = new ManualTimeProvider(Time.GetUtcNow());
        var memory = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions { Clock = new Clock(memoryTime) }));
        var ours = new StateKitDistributedCache(Store, Time, new StateKit.AspNetCore.StateKitDistributedCacheOptions());
        var expected = new List<string>();
        var actual = new List<string>();
        await script(memory, memoryTime, expected);
        await script(ours, Time, actual);
        Assert.That(expected, Is.Not.Empty);
        Assert.That(actual, Is.EqualTo(expected));
    }

    /// <summary>The same scripts through the buffer methods (<see cref="IBufferDistributedCache"/>, HybridCache's path), values split over several segments.</summary>
    [TestCaseSource(nameof(Scripts))]
    public async Task ThroughItsBufferMethods_GivesTheAnswersOfMemoryDistributedCache(Func<IDistributedCache, ManualTimeProvider, List<string>, Task> script)
    {
        var memoryTime = new ManualTimeProvider(Time.GetUtcNow());
        var memory = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions { Clock = new Clock(memoryTime) }));
        var ours = new BufferPath(new StateKitDistributedCache(Store, Time, new StateKit.AspNetCore.StateKitDistributedCacheOptions()));
        var expected = new List<string>();
        var actual = new List<string>();
        await script(memory, memoryTime, expected);
        await script(ours, Time, actual);
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public async Task TheBufferMethods_AppendToTheDestination_AndReadWhatTheArrayMethodsWrote()
    {
        var cache = new StateKitDistributedCache(Store, Time, new StateKit.AspNetCore.StateKitDistributedCacheOptions());
        Assert.That(cache, Is.InstanceOf<IBufferDistributedCache>());
        await cache.SetAsync("k", Bytes("value"), None);
        var destination = new System.Buffers.ArrayBufferWriter<byte>();
        System.Buffers.BuffersExtensions.Write(destination, "pre:"u8);
        Assert.That(await cache.TryGetAsync("k", destination), Is.True);
        Assert.That(Encoding.UTF8.GetString(destination.WrittenSpan), Is.EqualTo("pre:value"), "appended after what the writer held");
        Assert.That(cache.TryGet("missing", destination), Is.False);
        Assert.That(destination.WrittenCount, Is.EqualTo(9), "nothing written for a miss");

        cache.Set("s", Segmented(Bytes("split value")), None);
        Assert.That(Encoding.UTF8.GetString((await cache.GetAsync("s"))!), Is.EqualTo("split value"));
    }

    [Test]
    public async Task HybridCache_OnIt_SharesItsSecondLevelBetweenTwoApps()
    {
        await using var first = HybridApp();
        await using var second = HybridApp();
        var calls = 0;
        var made = await first.GetRequiredService<Microsoft.Extensions.Caching.Hybrid.HybridCache>().GetOrCreateAsync("profile:7", _ =>
        {
            calls++;
            return ValueTask.FromResult(new Profile("Ada", 36));
        });

        // HybridCache may finish writing its second level after GetOrCreateAsync returns: wait for it (on a slower
        // store, as the Redis Cluster, the second app once looked before the write had landed).
        var secondLevel = first.GetRequiredService<IDistributedCache>();
        for (var wait = 0; await secondLevel.GetAsync("profile:7") is null && wait < 200; wait++)
        {
            await Task.Delay(50);
        }

        var read = await second.GetRequiredService<Microsoft.Extensions.Caching.Hybrid.HybridCache>().GetOrCreateAsync("profile:7", _ =>
        {
            calls++;
            return ValueTask.FromResult(new Profile("someone else", 0));
        });

        Assert.That(read, Is.EqualTo(made));
        Assert.That(calls, Is.EqualTo(1), "the second app found the value in StateKit (HybridCache's second level), not its factory");

        ServiceProvider HybridApp()
        {
            var services = new ServiceCollection();
            services.AddSingleton<TimeProvider>(Time);
            services.AddStateKit().UseStore(_ => new Provider.NonDisposingStore(Store));
            services.AddStateKitDistributedCache();
            services.AddHybridCache();
            return services.BuildServiceProvider();
        }
    }

    [Test]
    public async Task SyncMethods_AndArguments_BehaveLikeMemoryDistributedCache()
    {
        var ours = new StateKitDistributedCache(Store, Time, new StateKit.AspNetCore.StateKitDistributedCacheOptions());
        ours.Set("k", Bytes("v"), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(30) });
        Time.Advance(TimeSpan.FromSeconds(20));
        ours.Refresh("k");
        Time.Advance(TimeSpan.FromSeconds(20));
        Assert.That(ours.Get("k"), Is.EqualTo(Bytes("v")));
        ours.Remove("k");
        Assert.That(ours.Get("k"), Is.Null);
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await ours.GetAsync(null!));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await ours.SetAsync("k", null!, None));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await ours.SetAsync("k", [], null!));
    }

    [Test]
    public async Task AnAbsoluteExpirationAlreadyPast_IsRefused_AsRedisCacheAndSqlServerCacheDo_AndTheOldValueStays()
    {
        // A deliberate difference from MemoryDistributedCache (which drops the entry silently): issue 23, item 7.
        var ours = new StateKitDistributedCache(Store, Time, new StateKit.AspNetCore.StateKitDistributedCacheOptions());
        await ours.SetAsync("k", Bytes("old"), None);
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await ours.SetAsync("k", Bytes("new"), new DistributedCacheEntryOptions { AbsoluteExpiration = Time.GetUtcNow().AddSeconds(-1) }));
        Assert.That(error!.ParamName, Is.EqualTo("AbsoluteExpiration"));
        Assert.That(error.Message, Does.Contain("must be in the future"));
        Assert.That(await ours.GetAsync("k"), Is.EqualTo(Bytes("old")));
    }

    [Test]
    public async Task AForeignEntryUnderThePrefix_IsACorruptionError_NotGarbage()
    {
        await Store.SetAsync("distributed-cache/~k", Bytes("not a cache entry"));
        var ours = new StateKitDistributedCache(Store, Time, new StateKit.AspNetCore.StateKitDistributedCacheOptions());
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await ours.GetAsync("k"));
    }

    [Test]
    public async Task AspNetCoreSession_RunsOnTheStore_AcrossTwoApps()
    {
        var (first, second) = TestStores.CreateTwins(_kind, Time, out var cleanup);
        var keys = Directory.CreateTempSubdirectory("statekit-dp-").FullName;
        try
        {
            await using var a = await StartSessionApp(first, keys);
            await using var b = await StartSessionApp(second, keys);
            using var clientA = a.NewClient(out var jarA);
            using var one = await clientA.PostAsync("/count", null);
            Assert.That(await one.Content.ReadFromJsonAsync<int>(), Is.EqualTo(1));
            var sessionCookie = jarA.GetCookies(clientA.BaseAddress!)[".AspNetCore.Session"]!;

            using var clientB = b.NewClient(out var jarB);
            jarB.Add(clientB.BaseAddress!, new Cookie(sessionCookie.Name, sessionCookie.Value));
            using var two = await clientB.PostAsync("/count", null);
            Assert.That(await two.Content.ReadFromJsonAsync<int>(), Is.EqualTo(2), "app B reads the session app A wrote");
            using var three = await clientA.PostAsync("/count", null);
            Assert.That(await three.Content.ReadFromJsonAsync<int>(), Is.EqualTo(3));

            Time.Advance(TimeSpan.FromMinutes(21));
            using var expired = await clientA.PostAsync("/count", null);
            Assert.That(await expired.Content.ReadFromJsonAsync<int>(), Is.EqualTo(1), "the session's 20-minute sliding expiration is the store's");
        }
        finally
        {
            await first.DisposeAsync();
            await second.DisposeAsync();
            await cleanup();
            Directory.Delete(keys, recursive: true);
        }
    }

    private Task<WebTestApp> StartSessionApp(IStateStore store, string keys) =>
        WebTestApp.StartAsync(
            store,
            builder =>
            {
                builder.Services.AddSingleton<TimeProvider>(Time);
                builder.Services.AddDataProtection().SetApplicationName("statekit-tests").PersistKeysToFileSystem(new DirectoryInfo(keys));
                builder.Services.AddStateKitDistributedCache();
                builder.Services.AddSession(o => o.IdleTimeout = TimeSpan.FromMinutes(20));
            },
            app =>
            {
                app.UseSession();
                app.MapPost("/count", async (HttpContext context) =>
                {
                    await context.Session.LoadAsync();
                    var count = (context.Session.GetInt32("count") ?? 0) + 1;
                    context.Session.SetInt32("count", count);
                    return count;
                });
            });

    private static TestCaseData Script(string name, Func<IDistributedCache, ManualTimeProvider, List<string>, Task> script) =>
        new TestCaseData(script).SetArgDisplayNames(name);

    private static async Task Get(IDistributedCache cache, string key, List<string> log)
    {
        var value = await cache.GetAsync(key);
        log.Add(value is null ? "miss" : "hit:" + Convert.ToHexString(value));
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>A cached record.</summary>
    /// <param name="Name">A name.</param>
    /// <param name="Age">An age.</param>
    public sealed record Profile(string Name, int Age);

    /// <summary><paramref name="value"/> as a sequence of segments of up to 3 bytes (as a pooled writer hands over a large value).</summary>
    internal static System.Buffers.ReadOnlySequence<byte> Segmented(byte[] value)
    {
        if (value.Length <= 3)
        {
            return new System.Buffers.ReadOnlySequence<byte>(value);
        }

        var first = new Segment(value.AsMemory(0, 3), 0);
        var last = first;
        for (var offset = 3; offset < value.Length; offset += 3)
        {
            last = last.Append(value.AsMemory(offset, Math.Min(3, value.Length - offset)));
        }

        return new System.Buffers.ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : System.Buffers.ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    private sealed class Clock(TimeProvider time) : ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
}

/// <summary>An <see cref="IDistributedCache"/> whose reads and writes go through the buffer methods of the cache it wraps.</summary>
internal sealed class BufferPath(IBufferDistributedCache cache) : IDistributedCache
{
    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        var destination = new System.Buffers.ArrayBufferWriter<byte>();
        return await cache.TryGetAsync(key, destination, token) ? destination.WrittenSpan.ToArray() : null;
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => cache.Set(key, DistributedCacheTests.Segmented(value), options);

    public async Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        await cache.SetAsync(key, DistributedCacheTests.Segmented(value), options, token);

    public void Refresh(string key) => cache.Refresh(key);

    public Task RefreshAsync(string key, CancellationToken token = default) => cache.RefreshAsync(key, token);

    public void Remove(string key) => cache.Remove(key);

    public Task RemoveAsync(string key, CancellationToken token = default) => cache.RemoveAsync(key, token);
}
