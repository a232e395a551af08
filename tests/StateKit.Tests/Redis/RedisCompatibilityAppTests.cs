using NUnit.Framework;
using StateKit.Tests.File;

namespace StateKit.Tests.Redis;

/// <summary>
/// Runs tests/StateKit.RedisCompat, an app that uses Redis for its distributed cache and Data Protection keys (so
/// StackExchange.Redis 2.x or 3.x is in its graph) and adds StateKit.Redis: with StackExchange.Redis 1.2.6 it did not
/// compile (CS0012) and every shutdown aborted the process (MissingMethodException from the multiplexer's Dispose).
/// </summary>
public sealed class RedisCompatibilityAppTests
{
    [Test]
    public async Task AppUsingRedisCacheAndDataProtection_AddsStateKitRedis_WorksAndExitsWithZero()
    {
        using var process = ChildProcess.StartApp("StateKit.RedisCompat", [TestServers.Redis], new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Warning" });
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        var text = await output + await error;
        TestContext.Out.WriteLine(text);

        Assert.That(process.ExitCode, Is.EqualTo(0), text);
        Assert.That(text, Does.Contain("owned: cache, Data Protection and StateKit work side by side"));
        Assert.That(text, Does.Contain("shared: cache, Data Protection and StateKit work side by side"));
        Assert.That(text, Does.Contain("StackExchange.Redis " + RedisStateStoreTests.ExpectedClientVersion), "the app runs on the client this test run was built for");
        Assert.That(text, Does.Contain("compat: ok").And.Not.Contain("Exception"));
    }
}
