using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using StateKit.Testing;
using StateKit.Tests.Resilience;

namespace StateKit.Tests.Pipeline;

/// <summary>
/// Issue 24 (one owner for the store pipeline), first slice: the fixed stage order, whatever the call order, and the
/// five cases found from outside that the order decides: a memory budget on another backend, write-behind against the
/// backend's limits and default time to live, a value transform reaching every copy (fallback mirror, write-behind
/// journal, spill files), and L1 above the fallback chain.
/// </summary>
public sealed class StageOrderTests
{
    private static readonly byte[] Plain = Encoding.UTF8.GetBytes("PLAINTEXT-MARKER-" + new string('p', 200));
    private string _root = string.Empty;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("statekit-stages-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [Test]
    public async Task CallOrder_DoesNotMatter_TheStagesDecide_AndTheChainIsDescribed()
    {
        var first = new ServiceCollection();
        first.AddStateKit().UseL1().UseWriteBehind(Path.Combine(_root, "j1")).Decorate((s, _) => new XorStore(s));
        var second = new ServiceCollection();
        second.AddStateKit().Decorate((s, _) => new XorStore(s)).UseWriteBehind(Path.Combine(_root, "j2")).UseL1();
        await using var a = first.BuildServiceProvider();
        await using var b = second.BuildServiceProvider();

        Assert.That(a.GetRequiredService<IStateStore>().DescribePipeline(), Is.EqualTo("telemetry > l1 > XorStore > write-behind > memory"));
        Assert.That(b.GetRequiredService<IStateStore>().DescribePipeline(), Is.EqualTo(a.GetRequiredService<IStateStore>().DescribePipeline()));
    }

    [Test]
    public async Task MemoryBudget_OnAnotherBackend_FailsTheStart_NamingTheOption_InEitherCallOrder()
    {
        foreach (var budgetFirst in new[] { false, true })
        {
            var services = new ServiceCollection();
            var builder = services.AddStateKit();
            if (budgetFirst)
            {
                builder.UseMemoryBudget(4096, Path.Combine(_root, "spill")).UseFileSystem(Path.Combine(_root, "files"));
            }
            else
            {
                builder.UseFileSystem(Path.Combine(_root, "files")).UseMemoryBudget(4096, Path.Combine(_root, "spill"));
            }

            await using var provider = services.BuildServiceProvider();
            var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<StateKitOptions>>().Value.ToString());
            Assert.That(error!.Message, Does.Contain("StateKit:MemoryBudget applies to the memory store only").And.Contain("'file'"));
        }

        var memory = new ServiceCollection();
        memory.AddStateKit().UseMemoryBudget(4096, Path.Combine(_root, "spill"));
        await using var ok = memory.BuildServiceProvider();
        Assert.That(ok.GetRequiredService<IStateStore>().DescribePipeline(), Is.EqualTo("telemetry > memory-budget > memory"));
    }

    [Test]
    public async Task WriteBehind_RefusesAtTheCall_WhatTheBackendRefuses_AndAppliesItsDefaultTimeToLive()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddStateKit()
            .UseFileSystem(Path.Combine(_root, "files"), o =>
            {
                o.MaxValueBytes = 1024;
                o.DefaultTimeToLive = TimeSpan.FromHours(1);
            })
            .UseWriteBehind(Path.Combine(_root, "journal"));
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>();
        Assert.That(store.DescribePipeline(), Is.EqualTo("telemetry > write-behind > file"));

        // Refused at the call (it used to be acknowledged at version 1 and then fail every flush for ever).
        await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await store.SetAsync("big", new byte[2000]));
        Assert.That(await store.GetAsync("big"), Is.Null);

        await store.SetAsync("k", new byte[] { 1, 2, 3 });
        Assert.That((await store.GetAsync("k"))!.ExpiresAt, Is.EqualTo(time.GetUtcNow().AddHours(1)), "the file store's default time to live, as the file store itself applies it");
        await store.GetRequiredService<WriteBehindStateStore>().FlushAsync();
        var file = store.GetRequiredService<StateKit.File.FileStateStore>();
        Assert.That((await file.GetAsync("k"))!.ExpiresAt, Is.EqualTo(time.GetUtcNow().AddHours(1)));
    }

    [Test]
    public async Task AValueTransform_ReachesTheFallbackMirror_NotThePlainValue()
    {
        var services = new ServiceCollection();
        services.AddStateKit().UseMemory().Decorate((s, _) => new XorStore(s)).AddStore("copy", b => b.UseMemory()).UseFallback("copy");
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>();
        Assert.That(store.DescribePipeline(), Is.EqualTo("telemetry > XorStore > fallback[copy] > memory"));

        var version = await store.SetAsync("k", Plain);
        Assert.That((await store.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(Plain), "callers see the plain value");
        var copy = provider.GetRequiredKeyedService<IStateStore>("copy");
        StateEntry? mirrored = null;
        for (var i = 0; i < 200 && mirrored is null; i++)
        {
            mirrored = await copy.GetAsync("k");
            await Task.Delay(mirrored is null ? 10 : 0);
        }

        Assert.That(mirrored, Is.Not.Null);
        Assert.That(mirrored!.Version, Is.EqualTo(version));
        Assert.That(mirrored.Value.ToArray(), Is.EqualTo(XorStore.Transform(Plain)), "the fallback holds what the primary holds: the transformed bytes");
    }

    [Test]
    public async Task AValueTransform_ReachesTheWriteBehindJournal_AndTheSpillFiles()
    {
        var journal = Path.Combine(_root, "journal");
        var spill = Path.Combine(_root, "spill");
        var services = new ServiceCollection();
        services.AddStateKit().UseMemoryBudget(1024, spill).UseWriteBehind(journal).Decorate((s, _) => new XorStore(s));
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<IStateStore>();
            Assert.That(store.DescribePipeline(), Is.EqualTo("telemetry > XorStore > write-behind > memory-budget > memory"));
            for (var i = 0; i < 20; i++)
            {
                await store.SetAsync("k" + i, Plain);
            }

            await store.GetRequiredService<WriteBehindStateStore>().FlushAsync();
            Assert.That((await store.GetAsync("k3"))!.Value.ToArray(), Is.EqualTo(Plain));
            Assert.That(FilesUnder(journal).Concat(FilesUnder(spill)).Count(), Is.GreaterThan(0), "there are journal and spill files to look into");
            Assert.That(FilesUnder(spill).Any(), Is.True, "20 values over a 1 KB budget spill");
            Assert.That(FilesUnder(journal).Concat(FilesUnder(spill)).Where(f => Contains(f, Plain.AsSpan(0, 16))), Is.Empty, "no file below the transform holds the plain value");
        }
    }

    [Test]
    public async Task L1_SitsAboveTheFallbackChain_SoAnOutageServesTheFallbacksNewerValue_NotL1sStaleOne()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var primary = new SwitchableStore(new MemoryStateStore(new StateStoreOptions(), time));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddStateKit()
            .UseStore(_ => primary)
            .UseL1(o =>
            {
                o.Lifetime = TimeSpan.FromSeconds(5);
                o.FailSafeMaxStaleness = TimeSpan.FromHours(1);
            })
            .AddStore("copy", b => b.UseMemory())
            .UseFallback("copy");
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>();
        Assert.That(store.DescribePipeline(), Does.StartWith("telemetry > l1 > fallback[copy] > "));

        var v1 = await store.SetAsync("k", new byte[] { 1 });
        Assert.That((await store.GetAsync("k"))!.Version, Is.EqualTo(v1), "L1 holds version 1");

        // The primary goes down; another instance (or the replay) put a newer version into the fallback meanwhile.
        primary.Down = true;
        var copy = provider.GetRequiredKeyedService<IStateStore>("copy");
        Assert.That(await copy.GetRequiredService<IVersionPreservingStateStore>().SetAtVersionAsync("k", new byte[] { 2 }, v1 + 5, null), Is.True);
        time.Advance(TimeSpan.FromSeconds(6));

        var read = await store.GetAsync("k");
        Assert.That(read!.Version, Is.EqualTo(v1 + 5), "the chain switched to the fallback; L1's fail-safe was not asked first");
        Assert.That(read.Value.ToArray(), Is.EqualTo(new byte[] { 2 }));
    }

    [Test]
    public async Task ConfigurationAlone_TurnsOnL1AndWriteBehind_OnTheDefaultAndANamedStore_AndBadSettingsFailTheStart()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:L1:Enabled"] = "true",
            ["StateKit:L1:MaxEntries"] = "1000",
            ["StateKit:WriteBehind:Enabled"] = "true",
            ["StateKit:WriteBehind:JournalDirectory"] = Path.Combine(_root, "journal"),
            ["StateKit:Stores:durable:Store:Type"] = "memory",
            ["StateKit:Stores:durable:L1:Enabled"] = "true",
            ["StateKit:Stores:plain:Store:Type"] = "memory",
            ["StateKit:Stores:plain:L1:Enabled"] = "false",
        }).Build();
        var services = new ServiceCollection();
        services.AddStateKit(config.GetSection("StateKit"));
        await using (var provider = services.BuildServiceProvider())
        {
            Assert.That(provider.GetRequiredService<IStateStore>().DescribePipeline(), Is.EqualTo("telemetry > l1 > write-behind > memory"));
            Assert.That(provider.GetRequiredKeyedService<IStateStore>("durable").DescribePipeline(), Is.EqualTo("telemetry > l1 > memory"));
            Assert.That(provider.GetRequiredKeyedService<IStateStore>("plain").DescribePipeline(), Is.EqualTo("telemetry > memory"));
            await provider.GetRequiredService<IStateStore>().SetAsync("k", new byte[] { 1 });
        }

        // Code and configuration together: one L1, not two.
        var both = new ServiceCollection();
        both.AddStateKit(config.GetSection("StateKit")).UseL1();
        await using (var provider = both.BuildServiceProvider())
        {
            Assert.That(provider.GetRequiredService<IStateStore>().DescribePipeline(), Is.EqualTo("telemetry > l1 > write-behind > memory"));
        }

        var bad = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:WriteBehind:Enabled"] = "true",
            ["StateKit:L1:Enabled"] = "true",
            ["StateKit:L1:Lifetime"] = "-00:00:01",
        }).Build();
        var invalid = new ServiceCollection();
        invalid.AddStateKit(bad.GetSection("StateKit"));
        await using var failing = invalid.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => failing.GetRequiredService<IOptions<StateKitOptions>>().Value.ToString());
        Assert.That(error!.Message, Does.Contain("StateKit:WriteBehind:JournalDirectory: The JournalDirectory field is required").And.Contain("StateKit:L1:Lifetime: Lifetime must be positive"));
    }

    [Test]
    public async Task AddStateKitWithoutASection_ReadsTheAppsStateKitSection_AndCodeWins()
    {
        // Case 6: StateKit:KeyPrefix and StateKit:Provider were ignored by AddStateKit() without a section, while named
        // stores, L1 and sessions read the app's configuration.
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:KeyPrefix"] = "app1",
            ["StateKit:Provider:MaxCheckpointKeys"] = "77",
            ["StateKit:L1:Enabled"] = "true",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(config);
        services.AddStateKit();
        await using (var provider = services.BuildServiceProvider())
        {
            Assert.That(provider.GetRequiredService<IOptions<StateKitOptions>>().Value.KeyPrefix, Is.EqualTo("app1"));
            Assert.That(provider.GetRequiredService<IOptions<StateProviderOptions>>().Value.MaxCheckpointKeys, Is.EqualTo(77));
            Assert.That(provider.GetRequiredService<IStateStore>().DescribePipeline(), Is.EqualTo("telemetry > l1 > memory"));
        }

        var code = new ServiceCollection();
        code.AddSingleton<IConfiguration>(config);
        code.AddStateKit(o => o.KeyPrefix = "code");
        await using var fromCode = code.BuildServiceProvider();
        Assert.That(fromCode.GetRequiredService<IOptions<StateKitOptions>>().Value.KeyPrefix, Is.EqualTo("code"));
    }

    [Test]
    public async Task UseWriteBehind_BindsItsSection_ThenCode_AndBadSettingsFailTheStartNamingThePath()
    {
        // One options rule for every layer: bound from StateKit[:Stores:{name}]:{Layer}, then code, validated at start.
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:WriteBehind:FlushInterval"] = "00:00:02",
            ["StateKit:WriteBehind:FlushConcurrency"] = "4",
        }).Build();
        var services = new ServiceCollection();
        services.AddStateKit(config.GetSection("StateKit")).UseWriteBehind(Path.Combine(_root, "journal"), o => o.FlushConcurrency = 8);
        await using (var provider = services.BuildServiceProvider())
        {
            var options = provider.GetRequiredService<IOptionsMonitor<WriteBehindOptions>>().Get(string.Empty);
            Assert.That((options.FlushInterval, options.FlushConcurrency, options.JournalDirectory), Is.EqualTo((TimeSpan.FromSeconds(2), 8, Path.Combine(_root, "journal"))));
            Assert.That(provider.GetRequiredService<IStateStore>().DescribePipeline(), Is.EqualTo("telemetry > write-behind > memory"));
        }

        var bad = new ServiceCollection();
        bad.AddStateKit().AddStore("durable", b => b.UseMemory().UseWriteBehind(Path.Combine(_root, "j2"), o => o.FlushConcurrency = 0));
        await using var failing = bad.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => failing.GetRequiredService<IOptionsMonitor<WriteBehindOptions>>().Get("durable"));
        Assert.That(error!.Message, Does.Contain("StateKit:Stores:durable:WriteBehind"));
    }

    [Test]
    public async Task APipelineOfEveryLayer_DisposedByItsOwnerAndByTheContainer_DisposesOnce()
    {
        // Found by the combination fixtures: L1 disposed a second time threw ObjectDisposedException from its
        // change-feed subscription.
        var services = new ServiceCollection();
        services.AddStateKit().UseMemoryBudget(4096, Path.Combine(_root, "spill")).UseL1().UseWriteBehind(Path.Combine(_root, "journal"))
            .Decorate((s, _) => new XorStore(s)).AddStore("copy", b => b.UseMemory()).UseFallback("copy");
        var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>();
        Assert.That(store.DescribePipeline(), Is.EqualTo("telemetry > l1 > XorStore > write-behind > fallback[copy] > memory-budget > memory"));
        await store.SetAsync("k", Plain);
        Assert.That((await store.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(Plain));

        await store.DisposeAsync();
        await store.DisposeAsync();
        Assert.That(async () => await provider.DisposeAsync(), Throws.Nothing);
        Assert.That(async () => await store.GetAsync("k"), Throws.InstanceOf<ObjectDisposedException>());
    }

    private static IEnumerable<string> FilesUnder(string directory) =>
        Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories) : [];

    private static bool Contains(string path, ReadOnlySpan<byte> needle)
    {
        try
        {
            return System.IO.File.ReadAllBytes(path).AsSpan().IndexOf(needle) >= 0;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
