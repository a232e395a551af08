using BenchmarkDotNet.Attributes;

namespace StateKit.Benchmarks;

/// <summary>
/// Event streams (issue 27) on the memory store and the server stores: appending one event vs a raw conditional set on
/// the same store (the baseline), and folding a 10,000-event stream without a snapshot vs from a snapshot 10 events back.
/// </summary>
[MemoryDiagnoser]
public class StreamBenchmarks
{
    private static readonly StateScope Scope = StateScope.Shared("bench");
    private BenchmarkStore _target = null!;
    private IStateStore _store = null!;
    private StateEventStreams _streams = null!;
    private long _raw;

    /// <summary>Gets or sets the store: memory, sqlite, postgres or redis.</summary>
    [Params("memory", "sqlite", "postgres", "redis")]
    public string Store { get; set; } = "memory";

    [GlobalSetup]
    public void SetUp()
    {
        _target = BenchmarkStore.Create(Store);
        _store = _target.Store;
        _streams = new StateEventStreams(_store);
        for (var i = 0; i < 100; i++)
        {
            _streams.AppendAsync(Scope, "long", Enumerable.Range(i * 100, 100).Select(n => new Step(n)).ToArray()).AsTask().GetAwaiter().GetResult();
            _streams.AppendAsync(Scope, "snapshotted", Enumerable.Range(i * 100, 100).Select(n => new Step(n)).ToArray()).AsTask().GetAwaiter().GetResult();
        }

        _streams.AggregateAsync<long, Step>(Scope, "snapshotted", 0, (s, e) => s + e.Event.N, snapshotEvery: 1).AsTask().GetAwaiter().GetResult();
        _streams.AppendAsync(Scope, "snapshotted", Enumerable.Range(0, 10).Select(n => new Step(n)).ToArray()).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _target.RemoveData().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("append")]
    public async Task<long> Raw_ConditionalSet() => _raw = await _store.SetAsync("raw", new byte[16], StateWriteOptions.IfVersion(_raw));

    [Benchmark]
    [BenchmarkCategory("append")]
    public ValueTask<long> Stream_AppendOne() => _streams.AppendAsync(Scope, "appends", new[] { new Step(1) });

    [Benchmark]
    [BenchmarkCategory("aggregate")]
    public ValueTask<StreamAggregate<long>> Aggregate_10000_NoSnapshot() => _streams.AggregateAsync<long, Step>(Scope, "long", 0, (s, e) => s + e.Event.N, snapshotEvery: 0);

    [Benchmark]
    [BenchmarkCategory("aggregate")]
    public ValueTask<StreamAggregate<long>> Aggregate_10010_FromSnapshot() => _streams.AggregateAsync<long, Step>(Scope, "snapshotted", 0, (s, e) => s + e.Event.N, snapshotEvery: 0);

    public sealed record Step(int N);
}
