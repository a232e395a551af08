using System.Collections.Immutable;
using System.ComponentModel;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

namespace StateKit.Benchmarks;

/// <summary>
/// A typed read of an unchanged ~1 KB immutable value, in process: StateKit's provider over an L1 tier (the typed fast
/// path) and without one, next to HybridCache (immutable type: it returns the instance it holds), FusionCache
/// (<c>TryGet</c>) and <see cref="MemoryCache"/> holding System.Text.Json bytes (decode per read, the baseline).
/// </summary>
[MemoryDiagnoser]
public class HybridBenchmarks
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly StateScope _scope = StateScope.Session("bench");
    private ServiceProvider _withL1 = null!;
    private ServiceProvider _withoutL1 = null!;
    private ServiceProvider _hybridServices = null!;
    private IStateProvider _l1 = null!;
    private IStateProvider _plain = null!;
    private HybridCache _hybrid = null!;
    private FusionCache _fusion = null!;
    private MemoryCache _cache = null!;

    // Synchronous on purpose: BenchmarkDotNet's in-process toolchain does not await an async [GlobalSetup].
    [GlobalSetup]
    public void SetUp() => SetUpAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void CleanUp()
    {
        _withL1.Dispose();
        _withoutL1.Dispose();
        _hybridServices.Dispose();
        _fusion.Dispose();
        _cache.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Document? MemoryCacheJson_Get() =>
        _cache.TryGetValue("doc", out byte[]? bytes) ? JsonSerializer.Deserialize<Document>(bytes, Web) : null;

    [Benchmark]
    public async Task<Document?> StateKit_Get_L1() => (await _l1.GetAsync<Document>(_scope, "doc"))?.Value;

    [Benchmark]
    public async Task<Document?> StateKit_Get_NoL1() => (await _plain.GetAsync<Document>(_scope, "doc"))?.Value;

    [Benchmark]
    public async Task<Document> HybridCache_Get() => await _hybrid.GetOrCreateAsync("doc", static _ => ValueTask.FromResult(Document.Create()));

    [Benchmark]
    public Document? FusionCache_TryGet() => _fusion.TryGet<Document>("doc").GetValueOrDefault();

    private async Task SetUpAsync()
    {
        var document = Document.Create();
        _withL1 = Provider(l1: true);
        _withoutL1 = Provider(l1: false);
        _l1 = _withL1.GetRequiredService<IStateProvider>();
        _plain = _withoutL1.GetRequiredService<IStateProvider>();
        await _l1.SetAsync(_scope, "doc", document);
        await _plain.SetAsync(_scope, "doc", document);
        await Task.Delay(100); // the write's own notice has come back and dropped the entry once
        await _l1.GetAsync<Document>(_scope, "doc");

        var services = new ServiceCollection();
        services.AddHybridCache();
        _hybridServices = services.BuildServiceProvider();
        _hybrid = _hybridServices.GetRequiredService<HybridCache>();
        await _hybrid.SetAsync("doc", document);
        _fusion = new FusionCache(new FusionCacheOptions());
        _fusion.Set("doc", document);
        _cache = new MemoryCache(new MemoryCacheOptions());
        _cache.Set("doc", JsonSerializer.SerializeToUtf8Bytes(document, Web));
    }

    private static ServiceProvider Provider(bool l1)
    {
        var services = new ServiceCollection();
        var builder = services.AddStateKit(o => o.Telemetry = false);
        if (l1)
        {
            builder.UseL1();
        }

        return services.BuildServiceProvider();
    }

    /// <summary>A ~1 KB immutable document: immutable for StateKit ([ImmutableState]) and for HybridCache (sealed, [ImmutableObject(true)]).</summary>
    /// <param name="Title">The title.</param>
    /// <param name="Revision">The revision.</param>
    /// <param name="Paragraphs">The text.</param>
    [ImmutableState]
    [ImmutableObject(true)]
    public sealed record Document(string Title, int Revision, ImmutableArray<string> Paragraphs)
    {
        /// <summary>Creates the ~1 KB document.</summary>
        /// <returns>The document.</returns>
        public static Document Create() =>
            new("Chat summary", 7, [.. Enumerable.Range(0, 10).Select(i => $"Paragraph {i}: " + new string('x', 80))]);
    }
}
