using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Extensions.Caching.Memory;

namespace StateKit.Benchmarks;

/// <summary>
/// <see cref="MemoryStateStore"/> get / set / conditional set vs <see cref="ConcurrentDictionary{TKey,TValue}"/> of
/// byte arrays (the baseline) and vs <see cref="MemoryCache"/>, over 1,024 keys, on one core (Callers = 1) and on both
/// (Callers = 2, each caller owning half the keys). Mean is per operation. MemoryCache has no compare-and-set, so it
/// has no conditional-set row.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class MemoryStoreBenchmarks
{
    private const int Keys = 1024;
    private readonly string[] _keys = Enumerable.Range(0, Keys).Select(i => $"chat/{i}").ToArray();
    private readonly long[] _versions = new long[Keys];
    private readonly byte[][] _current = new byte[Keys][];
    private readonly ConcurrentDictionary<string, byte[]> _dictionary = new(StringComparer.Ordinal);
    private MemoryStateStore _store = null!;
    private MemoryCache _cache = null!;
    private byte[] _value = [];
    private byte[] _other = [];

    /// <summary>Gets or sets the value size in bytes.</summary>
    [Params(100, 1024, 64 * 1024)]
    public int ValueSize { get; set; } = 1024;

    /// <summary>Gets or sets how many threads run the operations (1 or 2, the machine's cores).</summary>
    [Params(1, 2)]
    public int Callers { get; set; } = 1;

    [GlobalSetup]
    public void SetUp()
    {
        _value = Enumerable.Range(0, ValueSize).Select(i => (byte)i).ToArray();
        _other = _value.Reverse().ToArray();
        _store = new MemoryStateStore();
        _cache = new MemoryCache(new MemoryCacheOptions());
        for (var i = 0; i < Keys; i++)
        {
            _versions[i] = _store.SetAsync(_keys[i], _value).AsTask().GetAwaiter().GetResult();
            _dictionary[_keys[i]] = _current[i] = _value;
            _cache.Set(_keys[i], _value);
        }
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _cache.Dispose();
    }

    [BenchmarkCategory("Get"), Benchmark(Baseline = true, OperationsPerInvoke = Keys)]
    public void Dictionary_Get() => Run(i => _dictionary.TryGetValue(_keys[i], out _));

    [BenchmarkCategory("Get"), Benchmark(OperationsPerInvoke = Keys)]
    public void MemoryCache_Get() => Run(i => _cache.TryGetValue(_keys[i], out _));

    [BenchmarkCategory("Get"), Benchmark(OperationsPerInvoke = Keys)]
    public void StateKit_Get() => Run(i => _store.GetAsync(_keys[i]).GetAwaiter().GetResult());

    [BenchmarkCategory("Set"), Benchmark(Baseline = true, OperationsPerInvoke = Keys)]
    public void Dictionary_Set() => Run(i => _dictionary[_keys[i]] = _value);

    [BenchmarkCategory("Set"), Benchmark(OperationsPerInvoke = Keys)]
    public void MemoryCache_Set() => Run(i => _cache.Set(_keys[i], _value));

    [BenchmarkCategory("Set"), Benchmark(OperationsPerInvoke = Keys)]
    public void StateKit_Set() => Run(i => _store.SetAsync(_keys[i], _value).GetAwaiter().GetResult());

    [BenchmarkCategory("ConditionalSet"), Benchmark(Baseline = true, OperationsPerInvoke = Keys)]
    public void Dictionary_ConditionalSet() => Run(i =>
    {
        var next = ReferenceEquals(_current[i], _value) ? _other : _value;
        if (!_dictionary.TryUpdate(_keys[i], next, _current[i]))
        {
            throw new InvalidOperationException("conflict");
        }

        _current[i] = next;
    });

    [BenchmarkCategory("ConditionalSet"), Benchmark(OperationsPerInvoke = Keys)]
    public void StateKit_ConditionalSet() => Run(i => _versions[i] = _store.SetAsync(_keys[i], _value, StateWriteOptions.IfVersion(_versions[i])).GetAwaiter().GetResult());

    private void Run(Action<int> operation)
    {
        if (Callers == 1)
        {
            for (var i = 0; i < Keys; i++)
            {
                operation(i);
            }

            return;
        }

        Parallel.For(0, Callers, new ParallelOptions { MaxDegreeOfParallelism = Callers }, caller =>
        {
            for (var i = caller; i < Keys; i += Callers)
            {
                operation(i);
            }
        });
    }
}
