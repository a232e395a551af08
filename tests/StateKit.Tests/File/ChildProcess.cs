using System.Diagnostics;

namespace StateKit.Tests.File;

/// <summary>Starts the test apps built next to the tests (tests/StateKit.CrashWriter, tests/StateKit.RedisCompat) as child processes.</summary>
internal static class ChildProcess
{
    /// <summary>Starts the crash writer.</summary>
    /// <param name="args">Its arguments.</param>
    /// <returns>The process, its output redirected.</returns>
    public static Process Start(params string[] args) => StartApp("StateKit.CrashWriter", args);

    /// <summary>Starts an app built next to the tests with the same <c>dotnet</c> host that runs them.</summary>
    /// <param name="app">The app's assembly name, or the full path of its .dll.</param>
    /// <param name="args">Its arguments.</param>
    /// <param name="environment">Extra environment variables.</param>
    /// <returns>The process, its output redirected.</returns>
    public static Process StartApp(string app, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(host) || !System.IO.File.Exists(host))
        {
            host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        }

        var info = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.IsPathRooted(app) ? app : Path.Combine(AppContext.BaseDirectory, app + ".dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"{app} did not start");
    }
}
