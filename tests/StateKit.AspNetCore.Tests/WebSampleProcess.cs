using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using NUnit.Framework;
using StateKit.Tests.File;

namespace StateKit.Tests.AspNetCore;

/// <summary>The web sample (samples/StateKit.Samples.Web) as a real process: Kestrel on a free loopback port.</summary>
internal sealed class WebSampleProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private WebSampleProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The sample's .dll, built by the test project's build.</summary>
    public static string Dll =>
        typeof(WebSampleProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "WebSample").Value!;

    /// <summary>Starts the sample with extra arguments (store, key prefix) and waits until its health endpoint answers 200.</summary>
    public static async Task<WebSampleProcess> StartAsync(params string[] args)
    {
        Assert.That(System.IO.File.Exists(Dll), Is.True, $"the web sample is not built at {Dll}");
        var port = FreePort();
        var process = ChildProcess.StartApp(Dll, [$"--urls=http://127.0.0.1:{port}", .. args], new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Warning" });
        var sample = new WebSampleProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        try
        {
            using var client = new HttpClient { BaseAddress = sample.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (DateTime.UtcNow < deadline && !process.HasExited)
            {
                try
                {
                    using var health = await client.GetAsync("/health");
                    if (health.StatusCode == HttpStatusCode.OK)
                    {
                        return sample;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // not listening yet, or a first answer slower than the client's timeout on a loaded machine: try again
                }

                await Task.Delay(100);
            }

            Assert.Fail($"the web sample did not become healthy: {sample.Log}");
            throw new InvalidOperationException("unreachable");
        }
        catch
        {
            await sample.DisposeAsync(); // a failed start never leaves the process running
            throw;
        }
    }

    /// <summary>Kills the process with SIGKILL (no shutdown, no flush).</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }
}
