using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using StateKit.Tests.Pipeline;
using StateKit.Tests.Provider;

namespace StateKit.Tests.Resilience;

/// <summary>The fallback chain's failure story: switch, journal, replay, conflicts, versions, restart, health, configuration.</summary>
public sealed class FallbackStateStoreTests
{
    private static readonly FallbackStateStoreOptions Fast = new() { ProbeInterval = TimeSpan.FromMilliseconds(20), MaxProbeInterval = TimeSpan.FromMilliseconds(100) };

    [Test]
    public async Task AnOutage_IsServedByTheFallback_AndItsWritesAreReplayedWithVersionsThatNeverGoBack()
    {
        var primaryMemory = new MemoryStateStore();
        var primary = new SwitchableStore(primaryMemory);
        var fallback = new MemoryStateStore();
        await using var chain = new FallbackStateStore([primary, fallback], Fast);
        var switches = new ConcurrentQueue<FallbackSwitch>();
        chain.Switched += (_, e) => switches.Enqueue(e);

        var v1 = await chain.SetAsync("k", new byte[] { 1 });
        var v2 = await chain.SetAsync("k", new byte[] { 2 }, new StateWriteOptions(v1, TimeSpan.FromHours(1)));
        await chain.ListAppendAsync("list", [new byte[] { 1 }]);
        Assert.That((await fallback.GetAsync("k"))!.Version, Is.EqualTo(v2), "copied with its version");
        Assert.That(await fallback.ListLengthAsync("list"), Is.EqualTo(1));

        primary.Down = true;
        var read = await chain.GetAsync("k");
        Assert.That(read!.Version, Is.EqualTo(v2), "the fallback answers with the version callers saw");
        Assert.That(chain.IsOnFallback, Is.True);
        var v3 = await chain.SetAsync("k", new byte[] { 3 }, new StateWriteOptions(v2, TimeSpan.FromHours(1)));
        var v4 = await chain.SetAsync("k", new byte[] { 4 }, new StateWriteOptions(v3, TimeSpan.FromHours(1)));
        await chain.SetAsync("new", new byte[] { 9 });
        await chain.ListAppendAsync("list", [new byte[] { 2 }, new byte[] { 3 }]);
        Assert.That(chain.PendingReplay, Is.EqualTo(3));
        Assert.That(await ReadKeysAsync(chain), Is.EquivalentTo(new[] { "k", "new" }), "journal markers are not listed");

        primary.Down = false;
        await WaitAsync(() => !chain.IsOnFallback, "the background probe switches back");
        Assert.That(chain.PendingReplay, Is.Zero);
        Assert.That(chain.Conflicts, Is.Zero);
        var replayed = await primaryMemory.GetAsync("k");
        Assert.That((replayed!.Version, replayed.Value.ToArray()), Is.EqualTo((v4, new byte[] { 4 })), "the primary continues from the fallback's version");
        Assert.That(replayed.ExpiresAt, Is.Not.Null);
        Assert.That((await primaryMemory.GetAsync("new"))!.Value.ToArray(), Is.EqualTo(new byte[] { 9 }));
        Assert.That(await primaryMemory.ListLengthAsync("list"), Is.EqualTo(3));
        Assert.That(await chain.SetAsync("k", new byte[] { 5 }, new StateWriteOptions(v4)), Is.EqualTo(v4 + 1), "compare-and-set goes on from there");
        Assert.That(switches.Select(s => (s.From, s.To)), Is.EqualTo(new[] { (0, 1), (1, 0) }));
        Assert.That(await ReadKeysAsync(fallback), Has.None.StartsWith(FallbackStateStore.JournalPrefix), "the journal is emptied");
    }

    [TestCase(FallbackConflictPolicy.FallbackWins)]
    [TestCase(FallbackConflictPolicy.PrimaryWins)]
    public async Task AKeyChangedOnBothSides_IsAReportedConflict_ResolvedByThePolicy(FallbackConflictPolicy policy)
    {
        var primaryMemory = new MemoryStateStore();
        var primary = new SwitchableStore(new NonDisposingStore(primaryMemory));
        await using var chain = new FallbackStateStore([primary, new MemoryStateStore()], new FallbackStateStoreOptions { ProbeInterval = TimeSpan.FromHours(1), ConflictPolicy = policy });
        var conflicts = new ConcurrentQueue<FallbackConflict>();
        chain.Conflict += (_, e) => conflicts.Enqueue(e);
        var v1 = await chain.SetAsync("k", "base"u8.ToArray());

        primary.Down = true;
        var ours = await chain.SetAsync("k", "ours"u8.ToArray(), new StateWriteOptions(v1));
        ours = await chain.SetAsync("k", "ours again"u8.ToArray(), new StateWriteOptions(ours));
        var theirs = await primaryMemory.SetAsync("k", "theirs"u8.ToArray(), new StateWriteOptions(v1)); // another instance, on the primary

        primary.Down = false;
        Assert.That(await chain.TryRecoverAsync(), Is.True);
        var conflict = conflicts.Single();
        Assert.That(conflict, Is.EqualTo(new FallbackConflict("k", v1, theirs, ours, policy)));
        Assert.That(chain.Conflicts, Is.EqualTo(1));
        var now = await chain.GetAsync("k");
        Assert.That(System.Text.Encoding.UTF8.GetString(now!.Value.Span), Is.EqualTo(policy == FallbackConflictPolicy.FallbackWins ? "ours again" : "theirs"));
        Assert.That(now.Version, Is.GreaterThan(Math.Max(ours, theirs)), "above every version either side's callers saw");
    }

    [Test]
    public async Task AnAppRestartedDuringAnOutage_FindsTheJournal_AndReplaysIt()
    {
        var primaryMemory = new MemoryStateStore();
        var fallbackMemory = new MemoryStateStore();
        var primary = new SwitchableStore(new NonDisposingStore(primaryMemory)) { Down = false };
        await using (var first = new FallbackStateStore([primary, new NonDisposingStore(fallbackMemory)], new FallbackStateStoreOptions { ProbeInterval = TimeSpan.FromHours(1) }))
        {
            await first.SetAsync("k", new byte[] { 1 });
            primary.Down = true;
            await first.SetAsync("k", new byte[] { 2 });
            await first.SetAsync("k", new byte[] { 3 });
        } // the app stops (or crashes) before the primary is back

        primary = new SwitchableStore(new NonDisposingStore(primaryMemory)) { Down = true };
        await using var second = new FallbackStateStore([primary, new NonDisposingStore(fallbackMemory)], new FallbackStateStoreOptions { ProbeInterval = TimeSpan.FromHours(1) });
        Assert.That((await second.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 3 }), "it starts on the fallback, which has the newer data");
        Assert.That(second.IsOnFallback, Is.True);
        Assert.That(second.PendingReplay, Is.EqualTo(1));
        primary.Down = false;
        Assert.That(await second.TryRecoverAsync(), Is.True);
        var replayed = await primaryMemory.GetAsync("k");
        Assert.That((replayed!.Version, replayed.Value.ToArray()), Is.EqualTo((3L, new byte[] { 3 })));
    }

    [Test]
    public async Task ACopyThatFailed_IsNotServedFromTheFallback_UntilItIsCaughtUp()
    {
        var fallback = new SwitchableStore(new MemoryStateStore());
        var primary = new SwitchableStore(new MemoryStateStore());
        await using var chain = new FallbackStateStore([primary, fallback], new FallbackStateStoreOptions { ProbeInterval = TimeSpan.FromHours(1) });
        await chain.SetAsync("k", new byte[] { 1 });
        fallback.Down = true;
        await chain.SetAsync("k", new byte[] { 2 }); // the primary has it; the copy fails
        fallback.Down = false;
        primary.Down = true;
        var error = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await chain.GetAsync("k"));
        Assert.That(error!.Message, Does.Contain("behind"));
        Assert.That(await chain.GetAsync("other"), Is.Null, "other keys are served");
    }

    [Test]
    public async Task WhenEveryStoreIsDown_TheFailureIsTyped()
    {
        await using var chain = new FallbackStateStore(
            [new SwitchableStore(new MemoryStateStore()) { Down = true }, new SwitchableStore(new MemoryStateStore()) { Down = true }],
            new FallbackStateStoreOptions { ProbeInterval = TimeSpan.FromHours(1) });
        await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await chain.SetAsync("k", new byte[] { 1 }));
        await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await chain.GetAsync("k"));
    }

    [Test]
    public async Task UseFallback_WiresNamedStores_TheHealthCheckSaysDegraded_AndUnknownNamesFailTheStart()
    {
        var root = Directory.CreateTempSubdirectory("statekit-fallback-di-").FullName;
        try
        {
            var primary = new SwitchableStore(new MemoryStateStore());
            var services = new ServiceCollection();
            services.AddStateKit()
                .UseStore(_ => primary)
                .AddStore("local", s => s.UseSqlite(Path.Combine(root, "fallback.db")))
                .UseFallback("local");
            await using (var provider = services.BuildServiceProvider())
            {
                var store = provider.GetRequiredService<IStateStore>();
                var chain = store.GetService<FallbackStateStore>();
                Assert.That(chain, Is.Not.Null);
                var check = new StateStoreHealthCheck(store);
                Assert.That((await check.CheckHealthAsync(new HealthCheckContext())).Status, Is.EqualTo(HealthStatus.Healthy));
                primary.Down = true;
                var result = await check.CheckHealthAsync(new HealthCheckContext());
                Assert.That(result.Status, Is.EqualTo(HealthStatus.Degraded));
                Assert.That(result.Description, Does.Contain("fallback"));
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            var builder = TestHost.CreateBuilder();
            builder.Services.AddStateKit().UseFallback("nowhere");
            using var host = builder.Build();
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
            Assert.That(error!.Message, Does.Contain("StateKit:Fallback:Stores names the store 'nowhere'"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void AChainWithoutVersionPreservingStores_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => _ = new FallbackStateStore([new MemoryStateStore()]));
        Assert.Throws<ArgumentException>(() => _ = new FallbackStateStore([new MemoryStateStore(), new OpaqueStore(new MemoryStateStore())]));
    }

    internal static async Task<List<string>> ReadKeysAsync(IStateStore store)
    {
        var keys = new List<string>();
        await foreach (var key in store.ListKeysAsync())
        {
            keys.Add(key);
        }

        return keys;
    }

    internal static async Task WaitAsync(Func<bool> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("timed out waiting for " + what);
            }

            await Task.Delay(10);
        }
    }
}
