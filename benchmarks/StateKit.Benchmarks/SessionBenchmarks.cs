using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace StateKit.Benchmarks;

/// <summary>
/// The typed provider and the session manager on the memory store, with a 1 KB chat state, vs the code a user
/// would write by hand: <see cref="MemoryCache"/> holding System.Text.Json bytes (the baseline), and ASP.NET Core's
/// own session (<see cref="DistributedSession"/> over <see cref="MemoryDistributedCache"/>).
/// A session request is get-or-create, one update (a new turn), and a read of the saved state.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SessionBenchmarks
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(20);
    private static readonly MemoryCacheEntryOptions Sliding = new() { SlidingExpiration = IdleTimeout };
    private readonly StateScope _scope = StateScope.Session("bench");
    private ServiceProvider _services = null!;
    private IStateProvider _provider = null!;
    private ISessionManager<ChatState> _sessions = null!;
    private ISessionManager<ImmutableChatState> _immutableSessions = null!;
    private string _immutableSessionId = string.Empty;
    private MemoryCache _cache = null!;
    private MemoryDistributedCache _distributed = null!;
    private string _sessionId = string.Empty;

    // Synchronous on purpose: BenchmarkDotNet's in-process toolchain does not await an async [GlobalSetup].
    [GlobalSetup]
    public void SetUp() => SetUpAsync().GetAwaiter().GetResult();

    private async Task SetUpAsync()
    {
        var services = new ServiceCollection();
        services.AddStateKit().AddSessions<ChatState>(o => o.IdleTimeout = IdleTimeout).AddSessions<ImmutableChatState>(o => o.IdleTimeout = IdleTimeout);
        _services = services.BuildServiceProvider();
        _provider = _services.GetRequiredService<IStateProvider>();
        _sessions = _services.GetRequiredService<ISessionManager<ChatState>>();
        _immutableSessions = _services.GetRequiredService<ISessionManager<ImmutableChatState>>();
        _cache = new MemoryCache(new MemoryCacheOptions());
        _distributed = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()));

        var state = ChatState.OfSize(1024);
        await _provider.SetAsync(_scope, "chat", state);
        _cache.Set("chat", JsonSerializer.SerializeToUtf8Bytes(state, Web), Sliding);
        _sessionId = (await _sessions.CreateAsync(state)).Id;
        _immutableSessionId = (await _immutableSessions.CreateAsync(ImmutableChatState.From(state))).Id;
        _cache.Set("session:" + _sessionId, JsonSerializer.SerializeToUtf8Bytes(state, Web), Sliding);
        var aspNet = OpenAspNetSession();
        await aspNet.LoadAsync();
        aspNet.Set("chat", JsonSerializer.SerializeToUtf8Bytes(state, Web));
        await aspNet.CommitAsync();
    }

    [GlobalCleanup]
    public void CleanUp() => CleanUpAsync().GetAwaiter().GetResult();

    private async Task CleanUpAsync()
    {
        await _services.DisposeAsync();
        _cache.Dispose();
    }

    [BenchmarkCategory("TypedGet"), Benchmark(Baseline = true)]
    public ChatState? MemoryCacheJson_Get() =>
        _cache.TryGetValue("chat", out byte[]? bytes) ? JsonSerializer.Deserialize<ChatState>(bytes, Web) : null;

    [BenchmarkCategory("TypedGet"), Benchmark]
    public async Task<ChatState?> StateKit_Get() => (await _provider.GetAsync<ChatState>(_scope, "chat"))?.Value;

    [BenchmarkCategory("Update"), Benchmark(Baseline = true)]
    public ChatState MemoryCacheJson_Update()
    {
        var state = JsonSerializer.Deserialize<ChatState>(_cache.Get<byte[]>("chat"), Web)!.NextTurn();
        _cache.Set("chat", JsonSerializer.SerializeToUtf8Bytes(state, Web), Sliding);
        return state;
    }

    [BenchmarkCategory("Update"), Benchmark]
    public async Task<ChatState> StateKit_UpdateAsync() => (await _provider.UpdateAsync<ChatState>(_scope, "chat", s => s!.NextTurn())).Value;

    [BenchmarkCategory("SessionRequest"), Benchmark(Baseline = true)]
    public int MemoryCacheJson_Session()
    {
        var key = "session:" + _sessionId;
        var state = _cache.TryGetValue(key, out byte[]? bytes) ? JsonSerializer.Deserialize<ChatState>(bytes, Web)! : ChatState.OfSize(1024);
        _cache.Set(key, JsonSerializer.SerializeToUtf8Bytes(state.NextTurn(), Web), Sliding);
        return JsonSerializer.Deserialize<ChatState>(_cache.Get<byte[]>(key), Web)!.Turns;
    }

    [BenchmarkCategory("SessionRequest"), Benchmark]
    public async Task<int> StateKit_Session()
    {
        var session = await _sessions.GetOrCreateAsync(_sessionId);
        await _sessions.UpdateAsync(session, s => s.NextTurn()); // at the version read: no second read
        return (await _sessions.GetAsync(session.Id))!.State.Turns;
    }

    /// <summary>The same request with an immutable session type (<see cref="ImmutableStateAttribute"/>): reads of bytes decoded or written before do no decode.</summary>
    [BenchmarkCategory("SessionRequest"), Benchmark]
    public async Task<int> StateKit_ImmutableSession()
    {
        var session = await _immutableSessions.GetOrCreateAsync(_immutableSessionId);
        await _immutableSessions.UpdateAsync(session, s => s.NextTurn());
        return (await _immutableSessions.GetAsync(session.Id))!.State.Turns;
    }

    [BenchmarkCategory("SessionRequest"), Benchmark]
    public async Task<int> AspNetCoreSession()
    {
        var session = OpenAspNetSession();
        await session.LoadAsync();
        var state = session.TryGetValue("chat", out var bytes) ? JsonSerializer.Deserialize<ChatState>(bytes, Web)! : ChatState.OfSize(1024);
        session.Set("chat", JsonSerializer.SerializeToUtf8Bytes(state.NextTurn(), Web));
        await session.CommitAsync();

        var next = OpenAspNetSession();
        await next.LoadAsync();
        return next.TryGetValue("chat", out bytes) ? JsonSerializer.Deserialize<ChatState>(bytes, Web)!.Turns : -1;
    }

    private DistributedSession OpenAspNetSession() =>
        new(_distributed, "bench-session", IdleTimeout, TimeSpan.FromSeconds(1), () => true, NullLoggerFactory.Instance, isNewSessionKey: false);
}
