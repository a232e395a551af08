using BenchmarkDotNet.Attributes;

namespace StateKit.Benchmarks;

/// <summary>
/// Leases (issue 27): a renewal and an acquire + release vs the raw conditional set they are made of (read, then set at
/// the version read), on the memory store and on Redis.
/// </summary>
[MemoryDiagnoser]
public class LeaseBenchmarks
{
    private static readonly byte[] Value = new byte[24];
    private BenchmarkStore _target = null!;
    private StateLeaseManager _leases = null!;
    private StateLease _held = null!;

    /// <summary>Gets or sets the store: memory or redis.</summary>
    [Params("memory", "redis")]
    public string Store { get; set; } = "memory";

    [GlobalSetup]
    public void SetUp()
    {
        _target = BenchmarkStore.Create(Store);
        _leases = new StateLeaseManager(_target.Store);
        _held = _leases.TryAcquireAsync("held", TimeSpan.FromHours(1)).AsTask().GetAwaiter().GetResult()!;
        _target.Store.SetAsync("raw", Value).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _target.Store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _target.RemoveData().GetAwaiter().GetResult();
    }

    /// <summary>The baseline: read, then a conditional set at the version read.</summary>
    [Benchmark(Baseline = true)]
    public async Task<long> Raw_ReadThenConditionalSet()
    {
        var entry = await _target.Store.GetAsync("raw");
        return await _target.Store.SetAsync("raw", Value, StateWriteOptions.IfVersion(entry!.Version));
    }

    [Benchmark]
    public ValueTask<bool> Lease_Renew() => _held.RenewAsync(TimeSpan.FromHours(1));

    [Benchmark]
    public async Task<long> Lease_AcquireAndRelease()
    {
        var lease = await _leases.TryAcquireAsync("cycle", TimeSpan.FromMinutes(1));
        await lease!.ReleaseAsync();
        return lease.FencingToken;
    }
}
