using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace StateKit.Tests;

/// <summary>Host builders for tests: no console logging, so a host that is meant to fail (invalid options) prints no stack trace.</summary>
internal static class TestHost
{
    /// <summary>A default application builder without logging providers.</summary>
    /// <returns>The builder.</returns>
    public static HostApplicationBuilder CreateBuilder()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        return builder;
    }
}
