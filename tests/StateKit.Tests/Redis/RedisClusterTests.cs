using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Redis;

namespace StateKit.Tests.Redis;

/// <summary>
/// Issue 25, first slice: on a real Redis Cluster (three primaries started here) the Redis store refuses every operation
/// with a <see cref="StateStoreConfigurationException"/> that says why, instead of answering listings and purges in part
/// (96-104 of 300 keys were listed, 27-36 of 90 expired entries purged) and failing other calls with raw client
/// exceptions. Cluster support itself is the rest of the issue.
/// </summary>
public sealed class RedisClusterTests
{
    private readonly List<int> _ports = [];
    private RedisProcesses _servers = null!;

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        _servers = new RedisProcesses();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                _ports.Add(await _servers.StartAsync("--cluster-enabled yes --cluster-node-timeout 5000"));
            }

            await TestServers.RunAsync($"{_servers.Cli} --cluster create " + string.Join(' ', _ports.Select(p => "127.0.0.1:" + p)) + " --cluster-replicas 0 --cluster-yes");
            foreach (var port in _ports)
            {
                await _servers.WaitAsync(port, "CLUSTER INFO", "cluster_state:ok");
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
    public async Task EveryOperation_IsRefusedWithAConfigurationError_NamingRedisCluster()
    {
        await using var store = new RedisStateStore(new RedisStateStoreOptions { Configuration = Endpoints() });
        var read = await Assert.ThrowsAsync<StateStoreConfigurationException>(async () => await store.GetAsync("a"));
        Assert.That(read!.Message, Does.Contain("does not support Redis Cluster"));
        await Assert.ThrowsAsync<StateStoreConfigurationException>(async () => await store.SetAsync("a", new byte[] { 1 }));
        await Assert.ThrowsAsync<StateStoreConfigurationException>(async () => await store.SetManyAsync([new StateWrite("a", new byte[] { 1 }), new StateWrite("b", new byte[] { 2 })]));
        await Assert.ThrowsAsync<StateStoreConfigurationException>(async () => await store.ListAppendAsync("l", [new byte[] { 1 }]));
        await Assert.ThrowsAsync<StateStoreConfigurationException>(async () => await store.PurgeExpiredAsync());
        await Assert.ThrowsAsync<StateStoreConfigurationException>(async () =>
        {
            await foreach (var key in store.ListKeysAsync())
            {
                Assert.Fail("a key was listed from a cluster: " + key);
            }
        });
    }

    [Test]
    public async Task ThroughAddStateKit_TheFirstOperationSaysSo()
    {
        var services = new ServiceCollection();
        services.AddStateKit().UseRedis(Endpoints());
        await using var provider = services.BuildServiceProvider();
        var error = await Assert.ThrowsAsync<StateStoreConfigurationException>(async () => await provider.GetRequiredService<IStateProvider>().SetAsync(StateScope.Global, "k", 1));
        Assert.That(error!.Message, Does.Contain("Redis Cluster"));
    }

    private string Endpoints() => string.Join(',', _ports.Select(p => "127.0.0.1:" + p));
}
