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

    /// <summary>
    /// Issue 28: a store's own options (a SQLite table prefix, a PostgreSQL schema) come from its <c>Store</c> section
    /// when code leaves them at their defaults, for the default and a named store; what code sets wins.
    /// </summary>
    [Test]
    public async Task StoreOptions_ReadFromTheStoreSection_CodeWins()
    {
        var directory = Directory.CreateTempSubdirectory("statekit-sections-").FullName;
        try
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["StateKit:Store:Type"] = "sqlite",
                ["StateKit:Store:ConnectionString"] = "Data Source=" + Path.Combine(directory, "a.db"),
                ["StateKit:Store:TablePrefix"] = "fromconfig",
                ["StateKit:Stores:side:Store:Type"] = "sqlite",
                ["StateKit:Stores:side:Store:ConnectionString"] = "Data Source=" + Path.Combine(directory, "b.db"),
                ["StateKit:Stores:side:Store:TablePrefix"] = "sideconfig",
            }).Build();
            foreach (var (codeSets, expected, sideExpected) in new[] { (false, "fromconfig", "sideconfig"), (true, "fromcode", "sideconfig") })
            {
                var services = new ServiceCollection();
                var builder = services.AddStateKit(configuration.GetSection("StateKit"));
                if (codeSets)
                {
                    services.Configure<StateKit.Sqlite.SqliteStateStoreOptions>(o => o.TablePrefix = "fromcode");
                }

                await using var provider = services.BuildServiceProvider();
                await provider.GetRequiredService<IStateStore>().SetAsync("k", new byte[] { 1 });
                await provider.GetRequiredKeyedService<IStateStore>("side").SetAsync("k", new byte[] { 2 });
                Assert.That(await TablesAsync(Path.Combine(directory, "a.db")), Does.Contain(expected + "_entries"));
                Assert.That(await TablesAsync(Path.Combine(directory, "b.db")), Does.Contain(sideExpected + "_entries"));
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }

        static async Task<List<string>> TablesAsync(string path)
        {
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
            var names = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                names.Add(reader.GetString(0));
            }

            return names;
        }
    }
}
