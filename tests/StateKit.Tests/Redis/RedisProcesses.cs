using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;

namespace StateKit.Tests.Redis;

/// <summary>Redis servers a test starts for itself (cluster nodes, a primary and its replica), each stopped by <see cref="StopAll"/>.</summary>
internal sealed class RedisProcesses
{
    private readonly List<int> _ports = [];
    private readonly string _directory = Directory.CreateTempSubdirectory("statekit-redis-own-").FullName;
    private readonly string _server = TestServers.RedisServer;

    /// <summary>Gets the path of redis-cli, next to redis-server.</summary>
    public string Cli => Path.Combine(Path.GetDirectoryName(_server)!, "redis-cli");

    /// <summary>Starts a server on a free port (whose cluster bus port, port + 10000, is free too) and waits for its PING.</summary>
    /// <param name="arguments">More arguments, e.g. <c>--cluster-enabled yes</c> or <c>--replicaof 127.0.0.1 6379</c>.</param>
    /// <returns>The port.</returns>
    public async Task<int> StartAsync(string arguments = "")
    {
        var port = FreePort();
        _ports.Add(port);
        await TestServers.RunAsync($"{_server} --port {port} --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile {_directory}/{port}.pid --logfile {_directory}/{port}.log --dir {_directory} --cluster-config-file nodes-{port}.conf {arguments}");
        await WaitAsync(port, "PING", "PONG");
        return port;
    }

    /// <summary>Waits until <paramref name="command"/> on <paramref name="port"/> answers with <paramref name="expected"/> in it (or with <paramref name="unless"/>: then there is nothing to wait for).</summary>
    public async Task WaitAsync(int port, string command, string expected, string? unless = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var process = Process.Start(new ProcessStartInfo(Cli, $"-p {port} {command}") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (output.Contains(expected, StringComparison.Ordinal) || (unless is not null && output.Contains(unless, StringComparison.Ordinal)))
            {
                return;
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"redis on {port} did not answer {expected} to {command}: {output}");
            await Task.Delay(100);
        }
    }

    /// <summary>Stops the server on <paramref name="port"/>.</summary>
    public void Stop(int port)
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

    /// <summary>Sends a signal to the server on <paramref name="port"/> (<c>STOP</c> freezes it, <c>CONT</c> resumes it).</summary>
    public Task SignalAsync(int port, string signal) =>
        TestServers.RunAsync($"kill -{signal} $(cat {_directory}/{port}.pid)");

    /// <summary>Stops every server started here and removes their directory.</summary>
    public void StopAll()
    {
        foreach (var port in _ports)
        {
            Stop(port);
        }

        _ports.Clear();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static int FreePort()
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

        throw new InvalidOperationException("no free port pair for a Redis server");
    }
}
