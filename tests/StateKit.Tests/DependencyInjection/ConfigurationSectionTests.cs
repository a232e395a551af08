using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using StateKit.Agents;

namespace StateKit.Tests.DependencyInjection;

/// <summary>
/// Issue 24: one place binds StateKit's sections. Given <c>AddStateKit(configuration.GetSection("MyApp:State"))</c>,
/// every part reads under that section (the layers, sessions, agents, a named store's layers) and none reads the app's
/// <c>StateKit</c> section behind its back; agents read <c>StateKit:Agents</c> from the root configuration before.
/// </summary>
public sealed class ConfigurationSectionTests
{
    [Test]
    public async Task EveryPart_ReadsUnderTheSectionGivenToAddStateKit_NotTheAppsStateKitSection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MyApp:State:Agents:HistoryMaxMessages"] = "7",
            ["MyApp:State:L1:MaxEntries"] = "321",
            ["MyApp:State:Sessions:IdleTimeout"] = "00:03:00",
            ["MyApp:State:Stores:side:Store:Type"] = "memory",
            ["MyApp:State:Stores:side:L1:MaxEntries"] = "654",
            ["StateKit:Agents:HistoryMaxMessages"] = "99",   // the app's StateKit section: not the one given
            ["StateKit:L1:MaxEntries"] = "999",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddStateKit(configuration.GetSection("MyApp:State"))
            .UseL1()
            .AddAgents()
            .AddSessions<Counter>()
            .AddStore("side", b => b.UseL1());
        await using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<IOptions<StateKitAgentOptions>>().Value.HistoryMaxMessages, Is.EqualTo(7));
        var l1 = provider.GetRequiredService<IOptionsMonitor<L1StateStoreOptions>>();
        Assert.That(l1.Get(string.Empty).MaxEntries, Is.EqualTo(321));
        Assert.That(l1.Get("side").MaxEntries, Is.EqualTo(654));
        var sessions = provider.GetRequiredService<IOptionsMonitor<SessionOptions>>().Get(typeof(Counter).FullName);
        Assert.That(sessions.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(3)));
    }

    [Test]
    public async Task WithoutASection_EveryPart_ReadsTheAppsStateKitSection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Agents:HistoryMaxMessages"] = "5",
            ["StateKit:WriteBehind:FlushConcurrency"] = "3",
        }).Build();
        var journal = Directory.CreateTempSubdirectory("statekit-sections-").FullName;
        try
        {
            var services = new ServiceCollection();
            services.AddSingleton<IConfiguration>(configuration);
            services.AddStateKit().AddAgents().UseWriteBehind(journal);
            await using var provider = services.BuildServiceProvider();
            Assert.That(provider.GetRequiredService<IOptions<StateKitAgentOptions>>().Value.HistoryMaxMessages, Is.EqualTo(5));
            Assert.That(provider.GetRequiredService<IOptionsMonitor<WriteBehindOptions>>().Get(string.Empty).FlushConcurrency, Is.EqualTo(3));
        }
        finally
        {
            Directory.Delete(journal, recursive: true);
        }
    }

    /// <summary>A session type.</summary>
    public sealed class Counter
    {
        /// <summary>Gets or sets the count.</summary>
        public int Count { get; set; }
    }
}
