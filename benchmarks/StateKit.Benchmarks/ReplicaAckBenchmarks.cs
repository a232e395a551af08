using BenchmarkDotNet.Attributes;
using StateKit.Redis;

namespace StateKit.Benchmarks;

/// <summary>
/// What a replica acknowledgement costs (issue 25): a conditional set on the test Redis Cluster (STATEKIT_REDIS_CLUSTER,
/// each primary with one replica) without <c>WAIT</c> (the baseline) and with <c>MinReplicaAcknowledgements = 1</c>.
/// </summary>
[MemoryDiagnoser]
public class ReplicaAckBenchmarks
{
    private static readonly byte[] Value = new byte[1024];
    private readonly string _prefix = "statekit-bench-ack-" + Guid.NewGuid().ToString("N")[..8];
    private RedisStateStore _plain = null!;
    private RedisStateStore _acknowledged = null!;
    private long _plainVersion;
    private long _acknowledgedVersion;

    [GlobalSetup]
    public void SetUp()
    {
        var cluster = Environment.GetEnvironmentVariable("STATEKIT_REDIS_CLUSTER") ?? throw new InvalidOperationException("Set STATEKIT_REDIS_CLUSTER (benchmarks/run.sh starts a cluster and sets it).");
        _plain = new RedisStateStore(new RedisStateStoreOptions { Configuration = cluster, RedisKeyPrefix = _prefix });
        _acknowledged = new RedisStateStore(new RedisStateStoreOptions { Configuration = cluster, RedisKeyPrefix = _prefix, MinReplicaAcknowledgements = 1 });
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _plain.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _acknowledged.DisposeAsync().AsTask().GetAwaiter().GetResult();
        BenchmarkStore.DeleteRedisKeysAsync(Environment.GetEnvironmentVariable("STATEKIT_REDIS_CLUSTER")!, _prefix + "*").GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public async Task ConditionalSet_NoWait() => _plainVersion = await _plain.SetAsync("plain/k", Value, StateWriteOptions.IfVersion(_plainVersion));

    [Benchmark]
    public async Task ConditionalSet_OneReplicaAcknowledged() => _acknowledgedVersion = await _acknowledged.SetAsync("acked/k", Value, StateWriteOptions.IfVersion(_acknowledgedVersion));
}
