using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace StateKit.Benchmarks;

/// <summary>
/// One caller: each store operation next to the raw driver doing the same work with the same durability
/// (<see cref="Raw.IRawStore"/>): get, conditional set, batch of 100 sets, list append, last 20 items of a list.
/// Each category has its own baseline, so the Ratio column is StateKit ÷ raw for that operation and value size.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public abstract class ServerStoreBenchmarks
{
    private const string ListKey = "history";
    private readonly string[] _batchKeys = Enumerable.Range(0, 100).Select(i => $"batch/{i}").ToArray();
    private ServerTargets _targets = null!;
    private byte[] _value = [];
    private ReadOnlyMemory<byte>[] _item = [];
    private StateWrite[] _batch = [];
    private long _storeVersion;
    private long _rawVersion;

    /// <summary>Gets or sets the size of every value and list item in bytes.</summary>
    [Params(100, 1024, 64 * 1024)]
    public int ValueSize { get; set; } = 1024;

    /// <summary>Gets the store kind: sqlite, postgres or redis.</summary>
    protected abstract string Kind { get; }

    // Synchronous on purpose: BenchmarkDotNet's in-process toolchain does not await an async [GlobalSetup].
    [GlobalSetup]
    public void SetUp() => SetUpAsync().GetAwaiter().GetResult();

    private async Task SetUpAsync()
    {
        _targets = await ServerTargets.CreateAsync(Kind);
        _value = Enumerable.Range(0, ValueSize).Select(i => (byte)i).ToArray();
        _item = [_value];
        _batch = _batchKeys.Select(k => new StateWrite(k, _value)).ToArray();
        _storeVersion = await _targets.Store.SetAsync("hot", _value);
        _rawVersion = await _targets.Raw.SetAsync("hot", _value);
        for (var i = 0; i < 20; i++)
        {
            await _targets.Store.ListAppendAsync(ListKey, _item);
            await _targets.Raw.AppendAsync(ListKey, _value);
        }
    }

    [GlobalCleanup]
    public void CleanUp() => _targets.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [BenchmarkCategory("Get"), Benchmark(Baseline = true)]
    public async Task<byte[]?> Raw_Get() => await _targets.Raw.GetAsync("hot");

    [BenchmarkCategory("Get"), Benchmark]
    public async Task<StateEntry?> StateKit_Get() => await _targets.Store.GetAsync("hot");

    [BenchmarkCategory("ConditionalSet"), Benchmark(Baseline = true)]
    public async Task Raw_ConditionalSet() => _rawVersion = await _targets.Raw.SetIfVersionAsync("hot", _value, _rawVersion);

    [BenchmarkCategory("ConditionalSet"), Benchmark]
    public async Task StateKit_ConditionalSet() => _storeVersion = await _targets.Store.SetAsync("hot", _value, StateWriteOptions.IfVersion(_storeVersion));

    [BenchmarkCategory("BatchSet100"), Benchmark(Baseline = true, OperationsPerInvoke = 100)]
    public async Task Raw_BatchSet100() => await _targets.Raw.SetManyAsync(_batchKeys, _value);

    [BenchmarkCategory("BatchSet100"), Benchmark(OperationsPerInvoke = 100)]
    public async Task StateKit_BatchSet100() => await _targets.Store.SetManyAsync(_batch);

    [BenchmarkCategory("ListAppend"), Benchmark(Baseline = true)]
    public async Task<long> Raw_ListAppend() => await _targets.Raw.AppendAsync("log", _value);

    [BenchmarkCategory("ListAppend"), Benchmark]
    public async Task<long> StateKit_ListAppend() => await _targets.Store.ListAppendAsync("log", _item);

    [BenchmarkCategory("ListLast20"), Benchmark(Baseline = true)]
    public async Task<int> Raw_ListLast20() => (await _targets.Raw.LastAsync(ListKey, 20)).Count;

    [BenchmarkCategory("ListLast20"), Benchmark]
    public async Task<int> StateKit_ListLast20() => (await _targets.Store.ListRangeAsync(ListKey, -20, -1)).Count;
}

/// <summary>SQLite (WAL, synchronous=FULL) vs Microsoft.Data.Sqlite with prepared commands on open connections.</summary>
public class SqliteBenchmarks : ServerStoreBenchmarks
{
    /// <inheritdoc />
    protected override string Kind => "sqlite";
}

/// <summary>PostgreSQL vs Npgsql on a pooled, auto-preparing data source.</summary>
public class PostgresBenchmarks : ServerStoreBenchmarks
{
    /// <inheritdoc />
    protected override string Kind => "postgres";
}

/// <summary>Redis vs StackExchange.Redis doing the same hash reads, version-checked scripts and list commands.</summary>
public class RedisBenchmarks : ServerStoreBenchmarks
{
    /// <inheritdoc />
    protected override string Kind => "redis";
}

/// <summary>
/// The Redis store on a Redis Cluster (STATEKIT_REDIS_CLUSTER; its hash-slot layout) vs StackExchange.Redis on the same
/// cluster with its keys under one hash tag (so its batch transaction is allowed).
/// </summary>
public class RedisClusterBenchmarks : ServerStoreBenchmarks
{
    /// <inheritdoc />
    protected override string Kind => "redis-cluster";
}
