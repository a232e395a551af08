using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
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
    private string _directory = string.Empty;

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        var server = TestServers.RedisServer;
        var cli = Path.Combine(Path.GetDirectoryName(server)!, "redis-cli");
        _directory = Directory.CreateTempSubdirectory("statekit-redis-cluster-").FullName;
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var port = FreeClusterPort();
                _ports.Add(port);
                await RunAsync(server, $"--port {port} --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes-{port}.conf --cluster-node-timeout 5000 --save '' --appendonly no --daemonize yes --pidfile {_directory}/{port}.pid --logfile {_directory}/{port}.log --dir {_directory}");
            }

            foreach (var port in _ports)
            {
                await WaitAsync(cli, port, "PING", "PONG");
            }

            await RunAsync(cli, "--cluster create " + string.Join(' ', _ports.Select(p => "127.0.0.1:" + p)) + " --cluster-replicas 0 --cluster-yes");
            foreach (var port in _ports)
            {
                await WaitAsync(cli, port, "CLUSTER INFO", "cluster_state:ok");
            }
        }
        catch
        {
            StopCluster();
            throw;
        }
    }

    [OneTimeTearDown]
    public void StopCluster()
    {
        foreach (var port in _ports)
        {
            var pidFile = Path.Combine(_directory, port + ".pid");
            if (System.IO.File.Exists(pidFile) && int.TryParse(System.IO.File.ReadAllText(pidFile).Trim(), out var pid))
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                    process.WaitForExit(5000);
                }
                catch (ArgumentException)
                {
                    // already gone
                }
            }
        }

        _ports.Clear();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

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

    /// <summary>A free port whose cluster bus port (port + 10000) is free too.</summary>
    private static int FreeClusterPort()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (port + 10000 > 65535)
            {
                continue;
            }

            try
            {
                using var bus = new TcpListener(IPAddress.Loopback, port + 10000);
                bus.Start();
                bus.Stop();
                return port;
            }
            catch (SocketException)
            {
                // the bus port is taken: try another
            }
        }

        throw new InvalidOperationException("no free port pair for a cluster node");
    }

    private static async Task RunAsync(string file, string arguments)
    {
        await TestServers.RunAsync($"{file} {arguments}");
    }

    private static async Task WaitAsync(string cli, int port, string command, string expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var process = Process.Start(new ProcessStartInfo(cli, $"-p {port} {command}") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (output.Contains(expected, StringComparison.Ordinal))
            {
                return;
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"redis on {port} did not answer {expected} to {command}: {output}");
            await Task.Delay(100);
        }
    }
}
