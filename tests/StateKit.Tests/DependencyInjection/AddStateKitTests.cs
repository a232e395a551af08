using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using StateKit.Tests.Pipeline;
using StateKit.File;
using StateKit.Serialization;

namespace StateKit.Tests.DependencyInjection;

public sealed class AddStateKitTests
{
    [Test]
    public async Task AddStateKit_NothingChosen_RegistersWorkingMemoryStore()
    {
        await using var provider = new ServiceCollection().AddStateKit().Services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>().Unwrapped();
        Assert.That(store, Is.InstanceOf<MemoryStateStore>());
        await store.SetAsync("k", new byte[] { 1 });
        Assert.That(await provider.GetRequiredService<IStateStore>().Unwrapped().ExistsAsync("k"), Is.True, "the store is a singleton");
        Assert.That(provider.GetRequiredService<StateValueCodec>().Serializer, Is.InstanceOf<JsonStateSerializer>());
    }

    [Test]
    public void AddStateKit_CalledTwice_RegistersNothingNewAndReturnsSameBuilder()
    {
        var services = new ServiceCollection();
        var first = services.AddStateKit();
        var count = services.Count;
        var second = services.AddStateKit();
        Assert.That(services.Count, Is.EqualTo(count));
        Assert.That(second, Is.SameAs(first));
    }

    [Test]
    public async Task AddStateKit_Configure_AppliesOptionsToStore()
    {
        await using var provider = new ServiceCollection().AddStateKit(o => o.MaxValueBytes = 10).Services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>().Unwrapped();
        await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await store.SetAsync("k", new byte[11]));
    }

    [Test]
    public async Task UseFileSystem_RegistersFileStoreUnderPath()
    {
        var root = Directory.CreateTempSubdirectory("statekit-di-").FullName;
        try
        {
            await using (var provider = new ServiceCollection().AddStateKit(o => o.KeyPrefix = "app").UseFileSystem(root).Services.BuildServiceProvider())
            {
                var store = provider.GetRequiredService<IStateStore>().Unwrapped();
                Assert.That(store, Is.InstanceOf<FileStateStore>());
                await store.SetAsync("k", new byte[] { 7 });
            }

            await using var reopened = new FileStateStore(new FileStateStoreOptions { RootPath = root, KeyPrefix = "app" });
            Assert.That((await reopened.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 7 }));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public async Task AddStateKit_FromConfiguration_SelectsFileStoreWithoutCode()
    {
        var root = Directory.CreateTempSubdirectory("statekit-config-").FullName;
        try
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["StateKit:Store:Type"] = "file",
                ["StateKit:Store:Path"] = root,
                ["StateKit:KeyPrefix"] = "cfg",
                ["StateKit:MaxValueBytes"] = "1000",
                ["StateKit:DefaultTimeToLive"] = "00:30:00",
                ["StateKit:Envelope:Compression"] = "GZip",
            }).Build();
            await using var provider = new ServiceCollection().AddStateKit(configuration.GetSection(StateKitOptions.SectionName)).Services.BuildServiceProvider();
            var options = provider.GetRequiredService<IOptions<StateKitOptions>>().Value;
            Assert.That(options.MaxValueBytes, Is.EqualTo(1000));
            Assert.That(options.DefaultTimeToLive, Is.EqualTo(TimeSpan.FromMinutes(30)));
            Assert.That(options.Envelope.Compression, Is.EqualTo(StateCompression.GZip));
            var store = provider.GetRequiredService<IStateStore>().Unwrapped();
            Assert.That(store, Is.InstanceOf<FileStateStore>());
            Assert.That(((FileStateStore)store).DirectoryPath, Does.StartWith(root));
            await store.SetAsync("k", new byte[] { 1 });
            Assert.That((await store.GetAsync("k"))!.ExpiresAt, Is.Not.Null, "the configured default TTL applies");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public async Task AddStateKit_InvalidOptions_FailsAtStartListingEveryProblem()
    {
        var builder = TestHost.CreateBuilder();
        builder.Services.AddStateKit(o =>
        {
            o.KeyPrefix = "../bad";
            o.MaxValueBytes = 0;
            o.DefaultTimeToLive = TimeSpan.FromSeconds(-5);
            o.Store.Type = "file";
        });
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(async () => await host.StartAsync());
        Assert.That(ex!.Failures.Count(), Is.GreaterThanOrEqualTo(4), string.Join(Environment.NewLine, ex.Failures));
        Assert.That(ex.Message, Does.Contain("StateKit:KeyPrefix").And.Contain("MaxValueBytes").And.Contain("StateKit:DefaultTimeToLive").And.Contain("StateKit:Store:Path"));
    }

    [Test]
    public void AddStateKit_InvalidOptionsWithoutHost_FailsOnFirstResolve()
    {
        using var provider = new ServiceCollection().AddStateKit(o => o.Store.Type = "cassandra").Services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStateStore>().Unwrapped());
        Assert.That(ex!.Message, Does.Contain("'cassandra' is unknown"));
    }

    [Test]
    public void AddStateKit_TypeNoPackageDeclares_SaysWhichPackagesDeclareTheKnownTypes()
    {
        using var provider = new ServiceCollection().AddStateKit(o => o.Store.Type = "nope").Services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStateStore>().Unwrapped());
        Assert.That(ex!.Message, Does.Contain("'nope' is unknown").And.Contain("no referenced package declares it").And.Contain("redis: StateKit.Redis"));
    }

    [TestCase("sqlite")]
    [TestCase("postgres")]
    [TestCase("redis")]
    public void AddStateKit_SatelliteTypeFromConfigurationAlone_IsFoundAndValidated(string type)
    {
        using var provider = new ServiceCollection().AddStateKit(o => o.Store.Type = type).Services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStateStore>().Unwrapped());
        Assert.That(ex!.Message, Does.Contain("StateKit:Store:ConnectionString").And.Contain(type));
    }

    [Test]
    public async Task UseStore_CustomFactory_IsUsedAndDisposedByContainer()
    {
        var custom = new MemoryStateStore();
        await using (var provider = new ServiceCollection().AddStateKit().UseStore(_ => custom).Services.BuildServiceProvider())
        {
            Assert.That(provider.GetRequiredService<IStateStore>().Unwrapped(), Is.SameAs(custom));
        }
    }

    [Test]
    public async Task UseMemory_AfterUseFileSystem_LastChoiceWins()
    {
        await using var provider = new ServiceCollection().AddStateKit().UseFileSystem("/nonexistent-statekit").UseMemory().Services.BuildServiceProvider();
        Assert.That(provider.GetRequiredService<IStateStore>().Unwrapped(), Is.InstanceOf<MemoryStateStore>());
    }

    [Test]
    public async Task Host_WithStateKit_PurgeServiceRemovesExpiredEntries()
    {
        var time = new StateKit.Testing.ManualTimeProvider();
        var builder = TestHost.CreateBuilder();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddStateKit(o => o.PurgeInterval = TimeSpan.FromMilliseconds(20));
        using var host = builder.Build();
        await host.StartAsync();
        var store = (MemoryStateStore)host.Services.GetRequiredService<IStateStore>().Unwrapped();
        await store.SetAsync("k", new byte[] { 1 }, new StateWriteOptions(TimeToLive: TimeSpan.FromMinutes(1)));
        time.Advance(TimeSpan.FromMinutes(2));
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (store.RawEntryCount > 0 && !patience.IsCancellationRequested)
        {
            await Task.Delay(10);
        }

        await host.StopAsync();
        Assert.That(store.RawEntryCount, Is.EqualTo(0), "the hosted service purged the expired entry");
    }
}
