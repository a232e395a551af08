using System.Diagnostics;
using NUnit.Framework;
using StackExchange.Redis;
using StateKit.Redis;
using StateKit.Redis.Internal;

namespace StateKit.Tests.Redis;

/// <summary>
/// Issue 25: a primary of a Redis Cluster dies while its replica lags behind. Before, 3,252 acknowledged increments
/// were lost, every key went back in version, and the store issued the same versions again for other values without a
/// word. Here (a cluster of three primaries with a replica each, started for this test): ten writes reach the replica
/// (checked with replica acknowledgements), the replica is frozen, the primary's replication buffer is filled, ten more
/// writes are acknowledged by the primary alone, the primary is killed and the replica, resumed, takes over. The same store instance, without a restart, sees only typed
/// errors while the cluster fails over, then is told once that the data went back
/// (<see cref="StateVersionRegressedException"/>, logged and counted), keeps every write that replicas acknowledged,
/// and goes on working.
/// </summary>
public sealed class RedisFailoverTests
{
    private readonly List<int> _ports = [];
    private RedisProcesses _servers = null!;

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        _servers = new RedisProcesses();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                _ports.Add(await _servers.StartAsync("--cluster-enabled yes --cluster-node-timeout 1500 --cluster-replica-validity-factor 0"));
            }

            await TestServers.RunAsync($"{_servers.Cli} --cluster create " + string.Join(' ', _ports.Select(p => "127.0.0.1:" + p)) + " --cluster-replicas 1 --cluster-yes");
            foreach (var port in _ports)
            {
                await _servers.WaitAsync(port, "CLUSTER INFO", "cluster_state:ok");
            }

            // A replica acknowledges writes (WAIT) only once its first sync is done.
            foreach (var port in _ports)
            {
                await _servers.WaitAsync(port, "INFO replication", "master_link_status:up", unless: "role:master");
            }
        }
        catch
        {
            _servers.StopAll();
            throw;
        }
    }

    [OneTimeTearDown]
    public void StopCluster() => _servers?.StopAll();

    [Test]
    public async Task APrimaryDiesWithItsReplicaBehind_TheStoreSaysSo_KeepsWhatReplicasAcknowledged_AndRecovers()
    {
        var endpoints = string.Join(',', _ports.Select(p => "127.0.0.1:" + p));
        var options = new RedisStateStoreOptions { Configuration = endpoints, RedisKeyPrefix = "failover", OperationTimeout = TimeSpan.FromSeconds(2) };
        await using var store = new RedisStateStore(options);
        await using var acknowledged = new RedisStateStore(new RedisStateStoreOptions { Configuration = endpoints, RedisKeyPrefix = "failover", MinReplicaAcknowledgements = 1 });
        const string key = "orders/42/total";

        // Ten writes the replica has (each acknowledged by it), read by the store under test.
        long version = 0;
        for (var i = 1; i <= 10; i++)
        {
            version = await acknowledged.SetAsync(key, BitConverter.GetBytes(i), StateWriteOptions.IfVersion(version));
        }

        Assert.That((await store.GetAsync(key))!.Version, Is.EqualTo(10));

        // Freeze the replica of the key's primary, write ten more (acknowledged by the primary alone), kill the primary.
        using var multiplexer = await ConnectionMultiplexer.ConnectAsync(endpoints + ",allowAdmin=true"); // CLIENT LIST (admin in 3.x)
        var redisKey = RedisKeys.For("failover:0::", RedisKeyLayout.HashSlots).Entry(key);
        var configuration = multiplexer.GetServers().First(s => s.IsConnected).ClusterConfiguration!;
        var primary = configuration.GetBySlot(redisKey)!;
        var replica = configuration.Nodes.Single(n => n.ParentNodeId == primary.NodeId);
        var primaryPort = ((System.Net.IPEndPoint)primary.EndPoint!).Port;
        var replicaPort = ((System.Net.IPEndPoint)replica.EndPoint!).Port;
        await _servers.SignalAsync(replicaPort, "STOP");

        // A frozen replica still receives into its socket buffers; fill them (64 KB values in the key's shard) until
        // the primary holds replication data it could not send, so what follows cannot reach the replica.
        var primaryServer = multiplexer.GetServer(primary.EndPoint!);
        var filler = new byte[64 * 1024];
        for (var n = 0; n < 4000; n++)
        {
            await store.SetAsync("orders/42/filler", filler);
            if (n % 20 == 19 && PendingForReplica((string)(await primaryServer.ExecuteAsync("CLIENT", "LIST", "TYPE", "replica"))!) > 1024 * 1024)
            {
                break;
            }
        }

        Assert.That(PendingForReplica((string)(await primaryServer.ExecuteAsync("CLIENT", "LIST", "TYPE", "replica"))!), Is.GreaterThan(1024 * 1024), "the replica lags");
        for (var i = 11; i <= 20; i++)
        {
            version = await store.SetAsync(key, BitConverter.GetBytes(i), StateWriteOptions.IfVersion(version));
        }

        Assert.That(version, Is.EqualTo(20));
        _servers.Stop(primaryPort);
        await _servers.SignalAsync(replicaPort, "CONT");

        // The same instance, no restart: typed errors while the replica takes over, then the regression, once.
        var failures = new List<Exception>();
        StateVersionRegressedException? told = null;
        var clock = Stopwatch.StartNew();
        while (told is null && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                await store.GetAsync(key);
                await Task.Delay(100);
            }
            catch (StateVersionRegressedException ex)
            {
                told = ex;
            }
            catch (Exception ex)
            {
                failures.Add(ex);
                await Task.Delay(200);
            }
        }

        Assert.That(failures.Where(f => f is not StateStoreException).Select(f => f.ToString()), Is.Empty, "only StateKit exceptions while failing over");
        Assert.That(told, Is.Not.Null, $"the regression was reported ({failures.Count} typed errors while failing over)");
        Assert.That(told!.WriteApplied, Is.False);
        Assert.That(told.Found, Is.LessThan(told.Seen));
        Assert.That(told.Key, Is.EqualTo(key));

        // Every write the replica acknowledged survived; the ones only the old primary had are gone, and the store goes on.
        var after = (await store.GetAsync(key))!;
        Assert.That(after.Version, Is.EqualTo(10));
        Assert.That(BitConverter.ToInt32(after.Value.Span), Is.EqualTo(10));
        Assert.That(await store.SetAsync(key, BitConverter.GetBytes(11), StateWriteOptions.IfVersion(10)), Is.EqualTo(11));
        Assert.That(await store.ListAppendAsync("orders/42/log", [new byte[] { 1 }]), Is.EqualTo(1));
    }

    /// <summary>The bytes the primary holds for its replica and could not send yet (<c>omem</c> of CLIENT LIST).</summary>
    private static long PendingForReplica(string clients) =>
        System.Text.RegularExpressions.Regex.Matches(clients, @"omem=(\d+)").Sum(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
}
