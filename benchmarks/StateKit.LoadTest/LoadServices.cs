using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using StateKit.Benchmarks;

namespace StateKit.LoadTest;

/// <summary>A service provider with StateKit on one benchmark store and a chat-session manager, as an app would register it.</summary>
internal sealed class LoadServices : IAsyncDisposable
{
    private static readonly ChatState Template = ChatState.OfSize(1024);
    private readonly ServiceProvider _services;
    private readonly BenchmarkStore _store;

    public LoadServices(string kind)
    {
        _store = BenchmarkStore.Create(kind);
        var services = new ServiceCollection();
        services.AddStateKit().UseStore(_ => _store.Store).AddSessions(o => o.IdleTimeout = TimeSpan.FromMinutes(30), NewState);
        _services = services.BuildServiceProvider();
        Sessions = _services.GetRequiredService<ISessionManager<ChatState>>();
        Provider = _services.GetRequiredService<IStateProvider>();
    }

    public ISessionManager<ChatState> Sessions { get; }

    public IStateProvider Provider { get; }

    /// <summary>A new ~1 KB chat state.</summary>
    public static ChatState NewState() => Template.Copy();

    /// <summary>Runs <paramref name="operation"/> for 0..<paramref name="count"/>-1 on <paramref name="workers"/> concurrent workers and returns operations per second.</summary>
    public static async Task<double> RateAsync(int count, int workers, Func<int, ValueTask> operation)
    {
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await operation(i);
            }
        })));
        return count / watch.Elapsed.TotalSeconds;
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync(); // disposes the store
        await _store.RemoveData();
    }
}
