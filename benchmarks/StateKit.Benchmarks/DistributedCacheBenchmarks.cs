using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Benchmarks;

/// <summary>
/// HybridCache's second level on StateKit's distributed cache (memory store, ~1 KB value, the local level off so every
/// call reads the second level): through the buffer methods (<see cref="IBufferDistributedCache"/>) and, as the
/// baseline, through the array methods only (what HybridCache does with a plain <see cref="IDistributedCache"/>).
/// </summary>
[MemoryDiagnoser]
public class DistributedCacheBenchmarks
{
    private static readonly HybridCacheEntryOptions SecondLevelOnly = new() { Flags = HybridCacheEntryFlags.DisableLocalCache };
    private ServiceProvider _buffer = null!;
    private ServiceProvider _array = null!;
    private ServiceProvider _arrayStore = null!;
    private HybridCache _bufferPath = null!;
    private HybridCache _arrayPath = null!;

    [GlobalSetup]
    public void SetUp()
    {
        _buffer = Hybrid(null);
        _arrayStore = Hybrid(null);
        _array = Hybrid(new ArrayOnly(_arrayStore.GetRequiredService<IDistributedCache>()));
        _bufferPath = _buffer.GetRequiredService<HybridCache>();
        _arrayPath = _array.GetRequiredService<HybridCache>();
        _bufferPath.SetAsync("doc", HybridBenchmarks.Document.Create(), SecondLevelOnly).AsTask().GetAwaiter().GetResult();
        _arrayPath.SetAsync("doc", HybridBenchmarks.Document.Create(), SecondLevelOnly).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _buffer.Dispose();
        _array.Dispose();
        _arrayStore.Dispose();
    }

    [Benchmark(Baseline = true)]
    public ValueTask<HybridBenchmarks.Document> Read_ArrayMethods() => _arrayPath.GetOrCreateAsync("doc", static _ => ValueTask.FromResult(HybridBenchmarks.Document.Create()), SecondLevelOnly);

    [Benchmark]
    public ValueTask<HybridBenchmarks.Document> Read_BufferMethods() => _bufferPath.GetOrCreateAsync("doc", static _ => ValueTask.FromResult(HybridBenchmarks.Document.Create()), SecondLevelOnly);

    [Benchmark]
    public ValueTask Write_ArrayMethods() => _arrayPath.SetAsync("w", HybridBenchmarks.Document.Create(), SecondLevelOnly);

    [Benchmark]
    public ValueTask Write_BufferMethods() => _bufferPath.SetAsync("w", HybridBenchmarks.Document.Create(), SecondLevelOnly);

    /// <summary>HybridCache over StateKit's distributed cache, or over <paramref name="cache"/> when given.</summary>
    private static ServiceProvider Hybrid(IDistributedCache? cache)
    {
        var services = new ServiceCollection();
        if (cache is null)
        {
            services.AddStateKit(o => o.Telemetry = false);
            services.AddStateKitDistributedCache();
        }
        else
        {
            services.AddSingleton(cache);
        }

        services.AddHybridCache();
        return services.BuildServiceProvider();
    }

    /// <summary>Hides the buffer methods: HybridCache then takes its array path.</summary>
    private sealed class ArrayOnly(IDistributedCache inner) : IDistributedCache
    {
        public byte[]? Get(string key) => inner.Get(key);

        public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => inner.GetAsync(key, token);

        public void Refresh(string key) => inner.Refresh(key);

        public Task RefreshAsync(string key, CancellationToken token = default) => inner.RefreshAsync(key, token);

        public void Remove(string key) => inner.Remove(key);

        public Task RemoveAsync(string key, CancellationToken token = default) => inner.RemoveAsync(key, token);

        public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => inner.Set(key, value, options);

        public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) => inner.SetAsync(key, value, options, token);
    }
}
