using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using StateKit.Internal;

namespace StateKit.Tests.Issues;

/// <summary>
/// Start-up says which store and pipeline an app got (issue 23, item 16): a typo under <c>StateKit</c> or a missing
/// section no longer silently gives the memory store: the choice is logged, and the typo and the default are warned about.
/// </summary>
public sealed class StartupReportTests
{
    [Test]
    public async Task ATypoUnderStateKit_IsWarnedAboutByName_AndTheMemoryDefaultIsWarnedAboutOutsideDevelopment()
    {
        var logger = new CapturingLogger<StateKitStartupReport>();
        using var host = Build(Environments.Production, logger, new() { ["StateKit:Stor:Type"] = "redis" }, _ => { });
        await host.StartAsync();
        await host.StopAsync();

        Assert.That(logger.Events(62).Single().Message, Does.Contain("'StateKit:Stor'"));
        Assert.That(logger.Events(61), Has.Count.EqualTo(1), "state in memory only because nothing chose a store");
        var chosen = logger.Events(60).Single();
        Assert.That((chosen.Level, chosen.Message), Is.EqualTo((LogLevel.Information, chosen.Message)));
        Assert.That(chosen.Message, Does.Contain("type memory, pipeline telemetry > memory"));
    }

    [Test]
    public async Task AChosenStore_IsLoggedWithItsPipeline_AndNothingIsWarned()
    {
        var logger = new CapturingLogger<StateKitStartupReport>();
        var root = Directory.CreateTempSubdirectory("statekit-startup-").FullName;
        try
        {
            // Issue 26: the Encryption section is StateKit's (it was reported as a typo).
            using var host = Build(Environments.Production, logger, new()
            {
                ["StateKit:PurgeInterval"] = "00:10:00",
                ["StateKit:KeyPrefix"] = "app",
                ["StateKit:Encryption:Enabled"] = "true",
                ["StateKit:Encryption:CurrentKeyId"] = "k1",
                ["StateKit:Encryption:Keys:k1"] = Convert.ToBase64String(new byte[32]),
            }, b => b.UseFileSystem(root).UseL1());
            await host.StartAsync();
            await host.StopAsync();
            Assert.That(logger.Events(60).Single().Message, Does.Contain("type file, pipeline telemetry > l1 > encryption > file."));
            Assert.That(logger.Events(61).Concat(logger.Events(62)), Is.Empty);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public async Task MemoryChosenOnPurposeOrInDevelopment_IsNotWarnedAbout()
    {
        var onPurpose = new CapturingLogger<StateKitStartupReport>();
        using (var host = Build(Environments.Production, onPurpose, [], b => b.UseMemory()))
        {
            await host.StartAsync();
            await host.StopAsync();
        }

        var development = new CapturingLogger<StateKitStartupReport>();
        using (var host = Build(Environments.Development, development, [], _ => { }))
        {
            await host.StartAsync();
            await host.StopAsync();
        }

        Assert.That(onPurpose.Events(61).Concat(development.Events(61)), Is.Empty);
        Assert.That(onPurpose.Events(60), Has.Count.EqualTo(1));
    }

    private static IHost Build(string environment, CapturingLogger<StateKitStartupReport> logger, Dictionary<string, string?> settings, Action<StateKitBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = environment });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton<ILogger<StateKitStartupReport>>(logger);
        configure(builder.Services.AddStateKit(builder.Configuration.GetSection("StateKit")));
        return builder.Build();
    }
}

/// <summary>The opt-in start-up check (issue 23, item 18): an unreachable or refusing server fails the start, naming the store and the cause.</summary>
public sealed class CheckOnStartTests
{
    [Test]
    public async Task AnUnreachableRedis_FailsTheStart_NamingTheEndpoint()
    {
        var port = FreePort();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddStateKit(o => o.CheckOnStart = true).UseRedis($"127.0.0.1:{port},connectTimeout=500,abortConnect=false", o => o.OperationTimeout = TimeSpan.FromSeconds(1));
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.That(error!.Message, Does.Contain("CheckOnStart").And.Contain("type redis").And.Contain($"127.0.0.1:{port}"));
    }

    [Test]
    public async Task AWrongPostgresPassword_FailsTheStart_NamingTheCause_NotThePassword()
    {
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(TestServers.Postgres) { Password = "not-the-password" }.ConnectionString;
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddStateKit(o => o.CheckOnStart = true).UsePostgres(connection, o => o.MaxAttempts = 1);
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.That(error!.Message, Does.Contain("type postgres").And.Contain("password authentication failed").And.Not.Contain("not-the-password"));
        Assert.That(error.InnerException, Is.InstanceOf<StateStoreConfigurationException>(), "a wrong password is a configuration error, not an outage (issue 23, item 18)");
    }

    [Test]
    public async Task AReachableStore_Starts()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddStateKit(o => o.CheckOnStart = true).UseRedis(TestServers.Redis);
        using var host = builder.Build();
        await host.StartAsync();
        await host.StopAsync();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
