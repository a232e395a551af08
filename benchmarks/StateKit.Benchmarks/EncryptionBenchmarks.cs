using System.Diagnostics;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;

namespace StateKit.Benchmarks;

/// <summary>
/// Encryption at rest (issue 26): a 1 KB get and set through <c>UseEncryption</c> vs the same store without it, on the
/// memory store and on Redis. <see cref="RunPairedAsync"/> (<c>--encryption [rounds]</c>) calls both alternately.
/// </summary>
[MemoryDiagnoser]
public class EncryptionBenchmarks
{
    private static readonly byte[] Value = RandomNumberGenerator.GetBytes(1024);
    private BenchmarkStore _plainTarget = null!;
    private IStateStore _plain = null!;
    private IStateStore _encrypted = null!;

    /// <summary>Gets or sets the store: memory or redis.</summary>
    [Params("memory", "redis")]
    public string Store { get; set; } = "memory";

    [GlobalSetup]
    public void SetUp()
    {
        _plainTarget = BenchmarkStore.Create(Store);
        _plain = _plainTarget.Store;
        var twin = _plainTarget.Twin?.Invoke() ?? new NotOwned(_plain);
        var key = new StateEncryptionKey("bench-2026-12", RandomNumberGenerator.GetBytes(StateEncryptionKey.MaterialBytes));
        _encrypted = new StateStorePipelineBuilder(twin).UseEncryption(o => o.KeyRing = new StateEncryptionKeyRing(key)).Build();
        _plain.SetAsync("plain", Value).AsTask().GetAwaiter().GetResult();
        _encrypted.SetAsync("sealed", Value).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _encrypted.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _plain.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _plainTarget.RemoveData().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("get")]
    public ValueTask<StateEntry?> Get_Plain() => _plain.GetAsync("plain");

    [Benchmark]
    [BenchmarkCategory("get")]
    public ValueTask<StateEntry?> Get_Encrypted() => _encrypted.GetAsync("sealed");

    [Benchmark]
    [BenchmarkCategory("set")]
    public ValueTask<long> Set_Plain() => _plain.SetAsync("plain", Value);

    [Benchmark]
    [BenchmarkCategory("set")]
    public ValueTask<long> Set_Encrypted() => _encrypted.SetAsync("sealed", Value);

    /// <summary>Each operation plain and encrypted, alternately, <paramref name="rounds"/> times; prints medians and ratios.</summary>
    public static async Task RunPairedAsync(int rounds)
    {
        Console.WriteLine("| store | operation | plain p50 | encrypted p50 | ratio p50 | plain p99 | encrypted p99 |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var store in new[] { "memory", "redis" })
        {
            var bench = new EncryptionBenchmarks { Store = store };
            bench.SetUp();
            try
            {
                var batch = store == "memory" ? 100 : 1;
                await Pair(store, "get 1 KB", batch, rounds, async () => await bench.Get_Plain(), async () => await bench.Get_Encrypted());
                await Pair(store, "set 1 KB", batch, rounds, async () => await bench.Set_Plain(), async () => await bench.Set_Encrypted());
            }
            finally
            {
                bench.CleanUp();
            }
        }
    }

    private static async Task Pair(string store, string operation, int batch, int rounds, Func<Task> plain, Func<Task> encrypted)
    {
        var a = new double[rounds];
        var b = new double[rounds];
        for (var i = 0; i < rounds + 50; i++)
        {
            var tp = await Time(plain, batch);
            var te = await Time(encrypted, batch);
            if (i >= 50)
            {
                a[i - 50] = tp;
                b[i - 50] = te;
            }
        }

        Array.Sort(a);
        Array.Sort(b);
        var p99 = (int)(rounds * 0.99);
        Console.WriteLine($"| {store} | {operation} | {a[rounds / 2]:0.00} µs | {b[rounds / 2]:0.00} µs | {b[rounds / 2] / a[rounds / 2]:0.00} | {a[p99]:0.00} µs | {b[p99]:0.00} µs |");
    }

    private static async Task<double> Time(Func<Task> call, int batch)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < batch; i++)
        {
            await call();
        }

        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / batch;
    }

    /// <summary>The memory store shared by both sides: the encrypted pipeline does not dispose it.</summary>
    private sealed class NotOwned(IStateStore inner) : DelegatingStateStore(inner)
    {
        protected override ValueTask DisposeAsyncCore() => ValueTask.CompletedTask;
    }
}
