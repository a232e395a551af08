using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace StateKit.Benchmarks;

/// <summary>
/// 1, 16 or 64 callers at once, 1 KB values: each invocation does 64 operations split across the callers (each on a
/// thread-pool task), so Mean is the time per operation at that concurrency and 1 / Mean the throughput.
/// Reads share one key; each caller's conditional sets go to its own key, so none conflicts.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public abstract class ServerConcurrencyBenchmarks
{
    private const int Operations = 64;
    private readonly byte[] _value = Enumerable.Range(0, 1024).Select(i => (byte)i).ToArray();
    private readonly string[] _keys = Enumerable.Range(0, Operations).Select(i => $"caller/{i}").ToArray();
    private readonly long[] _storeVersions = new long[Operations];
    private readonly long[] _rawVersions = new long[Operations];
    private ServerTargets _targets = null!;

    /// <summary>Gets or sets how many callers run at once.</summary>
    [Params(1, 16, 64)]
    public int Callers { get; set; } = 1;

    /// <summary>Gets the store kind: sqlite, postgres or redis.</summary>
    protected abstract string Kind { get; }

    // Synchronous on purpose: BenchmarkDotNet's in-process toolchain does not await an async [GlobalSetup].
    [GlobalSetup]
    public void SetUp() => SetUpAsync().GetAwaiter().GetResult();

    private async Task SetUpAsync()
    {
        _targets = await ServerTargets.CreateAsync(Kind);
        await _targets.Store.SetAsync("hot", _value);
        await _targets.Raw.SetAsync("hot", _value);
        for (var i = 0; i < Operations; i++)
        {
            _storeVersions[i] = await _targets.Store.SetAsync(_keys[i], _value);
            _rawVersions[i] = await _targets.Raw.SetAsync(_keys[i], _value);
        }
    }

    [GlobalCleanup]
    public void CleanUp() => _targets.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [BenchmarkCategory("Get"), Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    public Task Raw_Get() => RunAsync(async _ => await _targets.Raw.GetAsync("hot"));

    [BenchmarkCategory("Get"), Benchmark(OperationsPerInvoke = Operations)]
    public Task StateKit_Get() => RunAsync(async _ => await _targets.Store.GetAsync("hot"));

    [BenchmarkCategory("ConditionalSet"), Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    public Task Raw_ConditionalSet() => RunAsync(async c => _rawVersions[c] = await _targets.Raw.SetIfVersionAsync(_keys[c], _value, _rawVersions[c]));

    [BenchmarkCategory("ConditionalSet"), Benchmark(OperationsPerInvoke = Operations)]
    public Task StateKit_ConditionalSet() => RunAsync(async c => _storeVersions[c] = await _targets.Store.SetAsync(_keys[c], _value, StateWriteOptions.IfVersion(_storeVersions[c])));

    private Task RunAsync(Func<int, ValueTask> operation)
    {
        if (Callers == 1)
        {
            return Caller(0);
        }

        var callers = new Task[Callers];
        for (var c = 0; c < Callers; c++)
        {
            var caller = c;
            callers[c] = Task.Run(() => Caller(caller));
        }

        return Task.WhenAll(callers);

        async Task Caller(int caller)
        {
            for (var i = 0; i < Operations / Callers; i++)
            {
                await operation(caller);
            }
        }
    }
}

/// <summary>SQLite under concurrent callers.</summary>
public class SqliteConcurrencyBenchmarks : ServerConcurrencyBenchmarks
{
    /// <inheritdoc />
    protected override string Kind => "sqlite";
}

/// <summary>PostgreSQL under concurrent callers.</summary>
public class PostgresConcurrencyBenchmarks : ServerConcurrencyBenchmarks
{
    /// <inheritdoc />
    protected override string Kind => "postgres";
}

/// <summary>Redis under concurrent callers.</summary>
public class RedisConcurrencyBenchmarks : ServerConcurrencyBenchmarks
{
    /// <inheritdoc />
    protected override string Kind => "redis";
}
