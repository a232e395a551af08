using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.File;
using StateKit.Testing;
using StateKit.Tests.Resilience;

namespace StateKit.Tests.Pipeline;

/// <summary>
/// Issue 24: the pipeline builder without a container (the one door <c>AddStateKit()</c> also goes through), the layer
/// context (store name, backend options, clock, services), and the layers' state through capabilities rather than their
/// (now internal) types.
/// </summary>
public sealed class PipelineBuilderTests
{
    private string _root = string.Empty;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("statekit-builder-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [Test]
    public async Task WithoutAContainer_TheStagesDecideTheOrder_WhateverTheCallOrder()
    {
        await using var a = new StateStorePipelineBuilder(new MemoryStateStore())
            .UseTelemetry().UseL1().Decorate(s => new XorStore(s)).UseWriteBehind(Path.Combine(_root, "j1")).UseMemoryBudget(4096, Path.Combine(_root, "s1"))
            .Build();
        await using var b = new StateStorePipelineBuilder(new MemoryStateStore())
            .UseMemoryBudget(4096, Path.Combine(_root, "s2")).UseWriteBehind(Path.Combine(_root, "j2")).Decorate(s => new XorStore(s)).UseL1().UseTelemetry()
            .Build();

        Assert.That(a.DescribePipeline(), Is.EqualTo("telemetry > l1 > XorStore > write-behind > memory-budget > memory"));
        Assert.That(b.DescribePipeline(), Is.EqualTo(a.DescribePipeline()));
        await a.SetAsync("k", new byte[] { 1, 2, 3 });
        Assert.That((await a.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
    }

    [Test]
    public async Task WithinAStage_TheLayerAddedFirst_IsTheOutermost()
    {
        await using var store = new StateStorePipelineBuilder(new MemoryStateStore())
            .Use(StateStoreStage.Custom, "first", (inner, _) => new FirstLayer(inner))
            .Use(StateStoreStage.Custom, "second", (inner, _) => new SecondLayer(inner))
            .Build();
        Assert.That(store.DescribePipeline(), Is.EqualTo("FirstLayer > SecondLayer > memory"));
    }

    [Test]
    public async Task WriteBehind_WithoutAContainer_SeesTheBackendsLimitsAndDefaultTimeToLive()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var file = new FileStateStore(new FileStateStoreOptions { RootPath = Path.Combine(_root, "files"), MaxValueBytes = 1024, DefaultTimeToLive = TimeSpan.FromHours(1) }, time);
        StateStoreLayerContext? seen = null;
        await using var store = new StateStorePipelineBuilder(file)
            .UseWriteBehind(Path.Combine(_root, "journal"))
            .Use(StateStoreStage.Custom, "probe", (inner, context) =>
            {
                seen = context;
                return inner;
            })
            .Build(); // no services: the clock comes from the backend

        Assert.That(seen, Is.Not.Null);
        Assert.That(seen!.StoreName, Is.Empty);
        Assert.That(seen.BackendOptions.MaxValueBytes, Is.EqualTo(1024), "the file store's own limit, not a default");
        Assert.That(seen.TimeProvider, Is.SameAs(time), "the backend's clock");
        await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await store.SetAsync("big", new byte[2000]));
        Assert.That(await store.GetAsync("big"), Is.Null);
        await store.SetAsync("k", new byte[] { 1 });
        Assert.That((await store.GetAsync("k"))!.ExpiresAt, Is.EqualTo(time.GetUtcNow().AddHours(1)));
        await store.GetService<IWriteBehindStatus>()!.FlushAsync();
        Assert.That((await file.GetAsync("k"))!.ExpiresAt, Is.EqualTo(time.GetUtcNow().AddHours(1)));
    }

    [Test]
    public async Task ALayerInAContainer_IsGivenItsStoresNameAndBackendOptions()
    {
        var seen = new Dictionary<string, StateStoreLayerContext>();
        var services = new ServiceCollection();
        var marker = new Uri("urn:the-apps-own-service");
        services.AddSingleton(marker);
        services.AddStateKit()
            .AddLayer(StateStoreStage.Custom, "probe", (inner, context) => Record(inner, context))
            .AddStore("files", b => b
                .UseFileSystem(Path.Combine(_root, "files"), o => o.MaxValueBytes = 2048)
                .AddLayer(StateStoreStage.Custom, "probe", (inner, context) => Record(inner, context)));
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<IStateStore>();
        _ = provider.GetRequiredKeyedService<IStateStore>("files");

        Assert.That(seen.Keys, Is.EquivalentTo(new[] { string.Empty, "files" }));
        Assert.That(seen["files"].BackendOptions.MaxValueBytes, Is.EqualTo(2048));
        Assert.That(seen["files"].BackendOptions, Is.InstanceOf<FileStateStoreOptions>());
        Assert.That(seen[string.Empty].Services.GetService<Uri>(), Is.SameAs(marker), "the container's services");

        IStateStore Record(IStateStore inner, StateStoreLayerContext context)
        {
            seen[context.StoreName] = context;
            return inner;
        }
    }

    [Test]
    public async Task ABuilder_BuildsOnce_AndAFailedBuild_DisposesWhatItBuilt()
    {
        var backend = new DisposalProbe(new MemoryStateStore());
        var builder = new StateStorePipelineBuilder(backend).UseL1().Use(StateStoreStage.Custom, "broken", (_, _) => null!);
        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.That(error!.Message, Does.Contain("'broken'"));
        Assert.That(backend.Disposed, Is.True, "the backend (under the L1 built before the failure) is disposed");
        Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Throws<InvalidOperationException>(() => builder.UseL1());

        var budget = new DisposalProbe(new FileStateStore(new FileStateStoreOptions { RootPath = Path.Combine(_root, "files") }));
        var wrong = Assert.Throws<InvalidOperationException>(() => new StateStorePipelineBuilder(budget).UseMemoryBudget(4096, Path.Combine(_root, "spill")).Build());
        Assert.That(wrong!.Message, Does.Contain("MemoryBudget applies to the memory store only"));
        Assert.That(budget.Disposed, Is.True);
        await Task.CompletedTask;
    }

    [Test]
    public void BadLayerOptions_AreRefusedAtTheCall_NamingTheOption()
    {
        var builder = new StateStorePipelineBuilder(new MemoryStateStore());
        Assert.That(Assert.Throws<ArgumentException>(() => builder.UseL1(o => o.Lifetime = TimeSpan.Zero))!.Message, Does.Contain("L1:Lifetime"));
        Assert.That(Assert.Throws<ArgumentException>(() => builder.UseWriteBehind(_root, o => o.FlushConcurrency = 0))!.Message, Does.Contain("WriteBehind:FlushConcurrency"));
        Assert.That(Assert.Throws<ArgumentException>(() => builder.UseFallback([new MemoryStateStore()], o => o.ProbeInterval = TimeSpan.Zero))!.Message, Does.Contain("Fallback:ProbeInterval"));
        Assert.Throws<ArgumentException>(() => builder.UseFallback([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Use((StateStoreStage)42, "x", (s, _) => s));
        Assert.Throws<ArgumentException>(() => builder.Use(StateStoreStage.Custom, " ", (s, _) => s));
    }

    [Test]
    public async Task EveryLayersState_IsFoundThroughItsCapability_ThroughTheLayersAbove()
    {
        var services = new ServiceCollection();
        services.AddStateKit().UseMemoryBudget(4096, Path.Combine(_root, "spill")).UseL1().UseWriteBehind(Path.Combine(_root, "journal"))
            .AddStore("copy", b => b.UseMemory()).UseFallback("copy");
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>();
        Assert.That(store.DescribePipeline(), Is.EqualTo("telemetry > l1 > write-behind > fallback[copy] > memory-budget > memory"));

        await store.SetAsync("k", new byte[100]);
        Assert.That(store.GetService<IWriteBehindStatus>()!.PendingCount + store.GetService<IWriteBehindStatus>()!.Flushed, Is.GreaterThanOrEqualTo(1));
        await store.GetService<IWriteBehindStatus>()!.FlushAsync();
        Assert.That(store.GetService<IWriteBehindStatus>()!.PendingCount, Is.Zero);
        Assert.That(await store.GetAsync("k"), Is.Not.Null);
        Assert.That(store.GetService<IL1Status>()!.Count, Is.EqualTo(1), "the read above was held by the tier");
        Assert.That(store.GetService<IFallbackStatus>()!.IsOnFallback, Is.False);
        Assert.That(store.GetService<IMemoryBudgetStatus>()!.ResidentBytes, Is.GreaterThan(100));

        await using var bare = new StateStorePipelineBuilder(new MemoryStateStore()).Build();
        Assert.That(bare.GetService<IL1Status>(), Is.Null);
        Assert.That(bare.GetService<IWriteBehindStatus>(), Is.Null);
        Assert.That(bare.GetService<IFallbackStatus>(), Is.Null);
        Assert.That(bare.GetService<IMemoryBudgetStatus>(), Is.Null);
    }

    [Test]
    public async Task FallbackCallbacks_RunOnASwitch_AndOneThatThrows_BreaksNothing()
    {
        var primary = new SwitchableStore(new MemoryStateStore());
        var switches = new List<FallbackSwitch>();
        var handled = new List<FallbackSwitch>();
        await using var store = new StateStorePipelineBuilder(primary)
            .UseFallback([new MemoryStateStore()], o =>
            {
                o.OnSwitch = s =>
                {
                    switches.Add(s);
                    throw new InvalidOperationException("the application's callback failed");
                };
            })
            .Build();
        var status = store.GetService<IFallbackStatus>()!;
        status.Switched += (_, _) => throw new InvalidOperationException("the first handler failed");
        status.Switched += (_, s) => handled.Add(s);
        await store.SetAsync("k", new byte[] { 1 });

        primary.Down = true;
        Assert.That((await store.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 1 }), "served from the fallback although the callback threw");
        Assert.That(status.IsOnFallback, Is.True);
        Assert.That(switches.Select(s => (s.From, s.To)), Is.EqualTo(new[] { (0, 1) }));
        Assert.That(handled.Select(s => (s.From, s.To)), Is.EqualTo(new[] { (0, 1) }), "every handler runs, after a callback and a handler that threw");

        primary.Down = false;
        Assert.That(await status.TryRecoverAsync(), Is.True);
        Assert.That(switches.Select(s => (s.From, s.To)), Is.EqualTo(new[] { (0, 1), (1, 0) }));
    }

    /// <summary>A custom layer.</summary>
    private sealed class FirstLayer(IStateStore inner) : DelegatingStateStore(inner);

    /// <summary>Another custom layer.</summary>
    private sealed class SecondLayer(IStateStore inner) : DelegatingStateStore(inner);

    /// <summary>Records whether it was disposed.</summary>
    private sealed class DisposalProbe(IStateStore inner) : DelegatingStateStore(inner)
    {
        public bool Disposed { get; private set; }

        protected override ValueTask DisposeAsyncCore()
        {
            Disposed = true;
            return base.DisposeAsyncCore();
        }
    }
}
