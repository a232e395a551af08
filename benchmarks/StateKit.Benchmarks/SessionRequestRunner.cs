using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace StateKit.Benchmarks;

/// <summary>
/// A session request (get-or-create → one update → read back) on Redis, run alternately for each contender in one loop
/// (one request each per round) so they share the machine's noise: ASP.NET Core's <see cref="DistributedSession"/> over
/// <see cref="RedisCache"/> (the baseline), StateKit on Redis, and StateKit on Redis with the L1 tier, each with the
/// mutable chat state and with its immutable twin, and FusionCache with its memory level, Redis as its second level and
/// the Redis backplane (as its docs set it up for several instances): once returning the instance it holds (what
/// StateKit does for an immutable type), once with <c>EnableAutoClone</c> (a copy per read, what a mutable type needs).
/// Prints p50 and p99 per contender and the p50 ratio to the baseline. With a gap, each round ends with that pause, so a
/// contender's requests come that far apart (else a round's other requests, well under a millisecond each, separate them).
/// </summary>
internal static class SessionRequestRunner
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(20);

    public static async Task RunAsync(int rounds, double gapMilliseconds = 0)
    {
        var redis = Environment.GetEnvironmentVariable("STATEKIT_REDIS") ?? throw new InvalidOperationException("Set STATEKIT_REDIS.");
        var prefix = "bench-sr-" + Guid.NewGuid().ToString("N")[..8];
        var state = ChatState.OfSize(1024);
        using var cache = new RedisCache(new RedisCacheOptions { Configuration = redis, InstanceName = prefix + ":" });
        await using var plain = await StateKitAsync(redis, prefix + "-plain", l1: false);
        await using var tiered = await StateKitAsync(redis, prefix + "-l1", l1: true);

        var aspNetKey = Guid.NewGuid().ToString("N");
        var first = Open(cache, aspNetKey);
        await first.LoadAsync();
        first.Set("chat", JsonSerializer.SerializeToUtf8Bytes(state, Web));
        await first.CommitAsync();

        var contenders = new List<(string Name, Func<Task<int>> Request)>
        {
            ("ASP.NET Core session over RedisCache", () => AspNetRequestAsync(cache, aspNetKey)),
            ("StateKit on Redis", await plain.MutableAsync(state)),
            ("StateKit on Redis, immutable state", await plain.ImmutableAsync(state)),
            ("StateKit on Redis + L1", await tiered.MutableAsync(state)),
            ("StateKit on Redis + L1, immutable state", await tiered.ImmutableAsync(state)),
        };

        using var fusion = Fusion(redis, prefix + "-fusion", autoClone: false);
        using var fusionCloning = Fusion(redis, prefix + "-fusion-clone", autoClone: true);
        contenders.Add(("FusionCache L1 + Redis L2 + backplane", FusionRequest(fusion, state)));
        contenders.Add(("FusionCache L1 + Redis L2 + backplane, auto-clone", FusionRequest(fusionCloning, state)));

        // With STATEKIT_REDIS_CLUSTER set (benchmarks/run.sh starts one), the same request on a Redis Cluster too.
        var cluster = Environment.GetEnvironmentVariable("STATEKIT_REDIS_CLUSTER");
        await using var onCluster = string.IsNullOrEmpty(cluster) ? null : await StateKitAsync(cluster, prefix + "-cluster", l1: false);
        if (onCluster is not null)
        {
            contenders.Add(("StateKit on Redis Cluster", await onCluster.MutableAsync(state)));
        }

        await MeasureAsync($"Session request on Redis, 1 KB chat state, {rounds} rounds, contenders alternating", contenders, rounds, gapMilliseconds);
        Console.WriteLine();
        var requests = 2 * (rounds + 50); // each app serves a mutable and an immutable contender
        Console.WriteLine($"Redis reads per StateKit request (get-or-create, update, read back): {plain.Reads / (double)requests:0.00} without L1, {tiered.Reads / (double)requests:0.00} with L1.");
        await cache.RemoveAsync(aspNetKey);
    }

    /// <summary>
    /// The same request in process, paired: ASP.NET Core's session over <c>MemoryDistributedCache</c> (the baseline),
    /// StateKit on the memory store with and without L1 (mutable and immutable state), HybridCache (local level only,
    /// the immutable type: it returns the instance it holds) and FusionCache (memory only, returning its instance).
    /// </summary>
    public static async Task RunInProcessAsync(int rounds)
    {
        var state = ChatState.OfSize(1024);
        var cache = new MemoryDistributedCache(Microsoft.Extensions.Options.Options.Create(new Microsoft.Extensions.Caching.Memory.MemoryDistributedCacheOptions()));
        await using var plain = await StateKitAsync(null, l1: false);
        await using var tiered = await StateKitAsync(null, l1: true);
        var aspNetKey = Guid.NewGuid().ToString("N");
        var first = Open(cache, aspNetKey);
        await first.LoadAsync();
        first.Set("chat", JsonSerializer.SerializeToUtf8Bytes(state, Web));
        await first.CommitAsync();

        var hybridServices = new ServiceCollection();
        hybridServices.AddHybridCache();
        await using var hybridProvider = hybridServices.BuildServiceProvider();
        var hybrid = hybridProvider.GetRequiredService<Microsoft.Extensions.Caching.Hybrid.HybridCache>();
        var hybridKey = "session:" + Guid.NewGuid().ToString("N");
        using var fusion = new FusionCache(new FusionCacheOptions { DefaultEntryOptions = new FusionCacheEntryOptions { Duration = IdleTimeout } });
        var contenders = new List<(string Name, Func<Task<int>> Request)>
        {
            ("ASP.NET Core session over MemoryDistributedCache", () => AspNetRequestAsync(cache, aspNetKey)),
            ("StateKit, memory store", await plain.MutableAsync(state)),
            ("StateKit, memory store, immutable state", await plain.ImmutableAsync(state)),
            ("StateKit, memory store + L1", await tiered.MutableAsync(state)),
            ("StateKit, memory store + L1, immutable state", await tiered.ImmutableAsync(state)),
            ("HybridCache (local), immutable state", async () =>
            {
                var current = await hybrid.GetOrCreateAsync(hybridKey, _ => ValueTask.FromResult(ImmutableChatState.From(state)));
                await hybrid.SetAsync(hybridKey, current.NextTurn());
                return (await hybrid.GetOrCreateAsync(hybridKey, _ => ValueTask.FromResult(ImmutableChatState.From(state)))).Turns;
            }),
            ("FusionCache (memory), its instance", FusionRequest(fusion, state)),
        };
        await MeasureAsync($"Session request in process, 1 KB chat state, {rounds} rounds, contenders alternating", contenders, rounds, 0);
    }

    /// <summary>Runs the contenders alternately (one request each per round, after 50 warm-up rounds) and prints p50, p99 and the p50 ratio to the first.</summary>
    private static async Task MeasureAsync(string title, List<(string Name, Func<Task<int>> Request)> contenders, int rounds, double gapMilliseconds)
    {
        var times = contenders.Select(_ => new double[rounds]).ToArray();
        for (var i = 0; i < 50; i++)
        {
            foreach (var (_, request) in contenders)
            {
                await request();
            }
        }

        for (var round = 0; round < rounds; round++)
        {
            for (var c = 0; c < contenders.Count; c++)
            {
                var start = Stopwatch.GetTimestamp();
                await contenders[c].Request();
                times[c][round] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }

            if (gapMilliseconds > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(gapMilliseconds));
            }
        }

        Console.WriteLine($"{title}{(gapMilliseconds > 0 ? $", {gapMilliseconds:0.#} ms pause after each round" : string.Empty)}:");
        Console.WriteLine();
        Console.WriteLine("| contender | p50 | p99 | p50 ÷ ASP.NET Core session |");
        Console.WriteLine("|---|---:|---:|---:|");
        double baseline = 0;
        for (var c = 0; c < contenders.Count; c++)
        {
            Array.Sort(times[c]);
            var p50 = times[c][rounds / 2];
            baseline = c == 0 ? p50 : baseline;
            Console.WriteLine($"| {contenders[c].Name} | {p50:0.0} µs | {times[c][(int)(rounds * 0.99)]:0.0} µs | {p50 / baseline:0.00} |");
        }

    }

    /// <summary>FusionCache as its docs set it up for several instances: memory, Redis as the distributed level, the Redis backplane.</summary>
    private static FusionCache Fusion(string redis, string name, bool autoClone)
    {
        var fusion = new FusionCache(new FusionCacheOptions
        {
            CacheName = name,
            DefaultEntryOptions = new FusionCacheEntryOptions { Duration = IdleTimeout, EnableAutoClone = autoClone },
        });
        fusion.SetupDistributedCache(new RedisCache(new RedisCacheOptions { Configuration = redis, InstanceName = name + ":" }), new FusionCacheSystemTextJsonSerializer(Web));
        fusion.SetupBackplane(new RedisBackplane(new RedisBackplaneOptions { Configuration = redis }));
        return fusion;
    }

    /// <summary>The session request on FusionCache: get-or-set, one update written through, read back.</summary>
    private static Func<Task<int>> FusionRequest(FusionCache fusion, ChatState template)
    {
        var key = "session:" + Guid.NewGuid().ToString("N");
        return async () =>
        {
            var state = await fusion.GetOrSetAsync<ChatState>(key, _ => Task.FromResult(template.Copy()));
            await fusion.SetAsync(key, state.NextTurn());
            return (await fusion.GetOrDefaultAsync<ChatState>(key))!.Turns;
        };
    }

    private static async Task<int> AspNetRequestAsync(IDistributedCache cache, string key)
    {
        var session = Open(cache, key);
        await session.LoadAsync();
        var state = session.TryGetValue("chat", out var bytes) ? JsonSerializer.Deserialize<ChatState>(bytes, Web)! : ChatState.OfSize(1024);
        session.Set("chat", JsonSerializer.SerializeToUtf8Bytes(state.NextTurn(), Web));
        await session.CommitAsync();

        var next = Open(cache, key);
        await next.LoadAsync();
        return next.TryGetValue("chat", out bytes) ? JsonSerializer.Deserialize<ChatState>(bytes, Web)!.Turns : -1;
    }

    private static DistributedSession Open(IDistributedCache cache, string key) =>
        new(cache, key, IdleTimeout, TimeSpan.FromSeconds(5), () => true, NullLoggerFactory.Instance, isNewSessionKey: false);

    private static Task<App> StateKitAsync(string redis, string prefix, bool l1) =>
        StateKitAsync(b => b.UseRedis(redis, o => o.RedisKeyPrefix = prefix), l1);

    /// <summary>StateKit with sessions of both types on the store <paramref name="store"/> picks (the memory store when <see langword="null"/>).</summary>
    private static async Task<App> StateKitAsync(Action<StateKitBuilder>? store, bool l1)
    {
        var services = new ServiceCollection();
        var reads = new ReadCounter();
        var builder = services.AddStateKit(o => o.Telemetry = false);
        store?.Invoke(builder);
        builder.Decorate((inner, _) => new ReadCountingStore(inner, reads)); // below L1: the reads that reach the store
        if (l1)
        {
            builder.UseL1();
        }

        builder.AddSessions<ChatState>(o => o.IdleTimeout = IdleTimeout).AddSessions<ImmutableChatState>(o => o.IdleTimeout = IdleTimeout);
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IStateStore>().GetAsync("warm-up");
        reads.Count = 0;
        return new App(provider, reads);
    }

    private sealed class ReadCounter
    {
        public long Count;
    }

    private sealed class ReadCountingStore(IStateStore inner, ReadCounter reads) : DelegatingStateStore(inner)
    {
        public override ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref reads.Count);
            return base.GetAsync(key, cancellationToken);
        }
    }

    private sealed class App(ServiceProvider services, ReadCounter reads) : IAsyncDisposable
    {
        public long Reads => Interlocked.Read(ref reads.Count);

        public async Task<Func<Task<int>>> MutableAsync(ChatState state)
        {
            var sessions = services.GetRequiredService<ISessionManager<ChatState>>();
            var id = (await sessions.CreateAsync(state.Copy())).Id;
            return async () =>
            {
                var session = await sessions.GetOrCreateAsync(id);
                await sessions.UpdateAsync(session, s => s.NextTurn());
                return (await sessions.GetAsync(session.Id))!.State.Turns;
            };
        }

        public async Task<Func<Task<int>>> ImmutableAsync(ChatState state)
        {
            var sessions = services.GetRequiredService<ISessionManager<ImmutableChatState>>();
            var id = (await sessions.CreateAsync(ImmutableChatState.From(state))).Id;
            return async () =>
            {
                var session = await sessions.GetOrCreateAsync(id);
                await sessions.UpdateAsync(session, s => s.NextTurn());
                return (await sessions.GetAsync(session.Id))!.State.Turns;
            };
        }

        public async ValueTask DisposeAsync()
        {
            var store = services.GetRequiredService<IStateStore>();
            await foreach (var key in store.ListKeysAsync())
            {
                await store.DeleteAsync(key);
            }

            await services.DisposeAsync();
        }
    }
}
