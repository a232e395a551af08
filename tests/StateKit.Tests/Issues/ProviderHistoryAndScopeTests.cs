using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Tests.Provider;

namespace StateKit.Tests.Issues;

/// <summary>
/// The provider on every store: history never mixes generations nor loses newer versions, a value and its history
/// commit together, updates keep the value's expiry, and the scope index outlives a store-wide default expiry.
/// </summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class ProviderHistoryAndScopeTests(string kind) : StoreFixture(kind)
{
    private static readonly StateScope Scope = StateScope.Shared("agent"); // a tier that keeps history by default (10 versions)

    public sealed record Counter(int Value);

    [Test]
    public async Task History_ValueExpiredAndStartedAgain_HoldsOnlyTheNewGeneration()
    {
        var provider = Container().GetRequiredService<IStateProvider>();
        await provider.SetAsync(Scope, "k", new Counter(1), new StateSetOptions<Counter> { TimeToLive = TimeSpan.FromMinutes(10) });
        await provider.SetAsync(Scope, "k", new Counter(2), new StateSetOptions<Counter> { TimeToLive = TimeSpan.FromMinutes(10) });
        Time.Advance(TimeSpan.FromMinutes(11));
        Assert.That(await provider.SetAsync(Scope, "k", new Counter(100)), Is.EqualTo(1), "the expired value starts again at version 1");

        var history = await provider.GetHistoryAsync(Scope, "k");
        Assert.That(history.Select(h => h.Version), Is.EqualTo(new long[] { 1 }));
        Assert.That((await provider.GetVersionAsync<Counter>(Scope, "k", 1))!.Value.Value, Is.EqualTo(100));
        Assert.That(await provider.GetVersionAsync<Counter>(Scope, "k", 2), Is.Null);
    }

    [Test]
    public async Task History_ConcurrentUpdates_KeepsExactlyTheNewestVersions()
    {
        var provider = Container().GetRequiredService<IStateProvider>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                await provider.UpdateAsync<Counter>(Scope, "k", c => new Counter((c?.Value ?? 0) + 1));
            }
        })));

        var current = await provider.GetAsync<Counter>(Scope, "k");
        Assert.That(current!.Version, Is.EqualTo(120));
        var history = await provider.GetHistoryAsync(Scope, "k");
        Assert.That(history.Select(h => h.Version), Is.EqualTo(Enumerable.Range(111, 10).Select(v => (long)v)), "Local keeps the 10 newest versions");
        foreach (var version in history.Select(h => h.Version))
        {
            Assert.That((await provider.GetVersionAsync<Counter>(Scope, "k", version))!.Value.Value, Is.EqualTo(version));
        }
    }

    [Test]
    public async Task History_AWriterOvertakenWhileRecordingHistory_NewestVersionsStillKept()
    {
        var holding = new HoldFirstHistoryWrite(Store);
        var provider = Container(store: holding).GetRequiredService<IStateProvider>();
        var overtaken = provider.UpdateAsync<Counter>(Scope, "k", c => new Counter((c?.Value ?? 0) + 1)).AsTask();
        await holding.Held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 12; i++)
        {
            await provider.UpdateAsync<Counter>(Scope, "k", c => new Counter((c?.Value ?? 0) + 1));
        }

        holding.Release.SetResult();
        await overtaken.WaitAsync(TimeSpan.FromSeconds(30));
        var current = (await provider.GetAsync<Counter>(Scope, "k"))!;
        Assert.That(current.Version, Is.EqualTo(13));
        var history = await provider.GetHistoryAsync(Scope, "k");
        Assert.That(history.Select(h => h.Version), Is.EqualTo(Enumerable.Range(4, 10).Select(v => (long)v)), "the 10 newest versions, not the last 10 recorded");
        Assert.That((await provider.GetVersionAsync<Counter>(Scope, "k", 4))!.Value.Value, Is.EqualTo(4));
    }

    [Test]
    public async Task Update_HistoryWriteFails_ReportsNotWrittenOnlyWhenNothingWasWritten()
    {
        var provider = Container().GetRequiredService<IStateProvider>();
        await provider.SetAsync(Scope, "k", new Counter(1));
        var failing = Container(store: new FailHistoryWrites(Store)).GetRequiredService<IStateProvider>();

        var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await failing.UpdateAsync<Counter>(Scope, "k", c => new Counter(c!.Value + 1)));
        Assert.That(ex!.WriteMayHaveApplied, Is.False);
        var after = await provider.GetAsync<Counter>(Scope, "k");
        Assert.That(after!.Version, Is.EqualTo(1), "'not written' must mean the value was not written");
        Assert.That(after.Value.Value, Is.EqualTo(1));
    }

    [Test]
    public async Task Update_ValueWithExpiry_KeepsTheExpiry()
    {
        var provider = Container().GetRequiredService<IStateProvider>();
        await provider.SetAsync(Scope, "k", new Counter(1), new StateSetOptions<Counter> { TimeToLive = TimeSpan.FromMinutes(10) });
        var expiresAt = (await provider.GetAsync<Counter>(Scope, "k"))!.ExpiresAt;
        Assert.That(expiresAt, Is.Not.Null);
        Time.Advance(TimeSpan.FromMinutes(3));

        var updated = await provider.UpdateAsync<Counter>(Scope, "k", c => new Counter(c!.Value + 1));
        Assert.That(updated.ExpiresAt, Is.EqualTo(expiresAt));
        Assert.That((await provider.GetAsync<Counter>(Scope, "k"))!.ExpiresAt, Is.EqualTo(expiresAt));
        Time.Advance(TimeSpan.FromMinutes(8));
        Assert.That(await provider.GetAsync<Counter>(Scope, "k"), Is.Null);
    }

    [Test]
    public async Task Update_KeepingTheExpiry_HistoryRecordsExpireWithTheValue()
    {
        var provider = Container().GetRequiredService<IStateProvider>();
        await provider.SetAsync(Scope, "k", new Counter(1), new StateSetOptions<Counter> { TimeToLive = TimeSpan.FromMinutes(10) });
        Time.Advance(TimeSpan.FromMinutes(3));
        await provider.UpdateAsync<Counter>(Scope, "k", c => new Counter(c!.Value + 1));
        await provider.SetAsync(Scope, "k", new Counter(3), new StateSetOptions<Counter> { ExpectedVersion = 2, TimeToLive = StateTimeToLive.KeepCurrent });
        Assert.That((await provider.GetHistoryAsync(Scope, "k")).Select(h => h.Version), Is.EqualTo(new long[] { 1, 2, 3 }));

        Time.Advance(TimeSpan.FromMinutes(7) + TimeSpan.FromSeconds(1));
        Assert.That(await provider.GetAsync<Counter>(Scope, "k"), Is.Null);
        var left = new List<string>();
        await foreach (var key in Store.ListKeysAsync())
        {
            left.Add(key);
        }

        Assert.That(left, Is.Empty, "no history record outlives the value it records");
    }

    [Test]
    public async Task Diff_MemberNamesWithDotsAndSlashes_HaveDistinctPaths()
    {
        var provider = Container().GetRequiredService<IStateProvider>();
        await provider.SetAsync(Scope, "doc", new Dictionary<string, object> { ["a.b"] = 1, ["a"] = new Dictionary<string, int> { ["b"] = 1 }, ["c/d"] = 1, ["e~"] = 1 });
        await provider.SetAsync(Scope, "doc", new Dictionary<string, object> { ["a.b"] = 2, ["a"] = new Dictionary<string, int> { ["b"] = 2 }, ["c/d"] = 2, ["e~"] = 2 });
        var paths = (await provider.DiffAsync(Scope, "doc", 1, 2)).Select(d => d.Path).ToArray();
        Assert.That(paths, Is.EquivalentTo(new[] { "/a.b", "/a/b", "/c~1d", "/e~0" }));
        Assert.That(paths.Distinct().Count(), Is.EqualTo(4));
    }

    /// <summary>Holds the first write that records history (before it reaches the store) until released.</summary>
    private sealed class HoldFirstHistoryWrite(IStateStore inner) : DelegatingStore(inner)
    {
        private int _held;

        public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
        {
            await HoldAsync(writes.Any(w => w.Key.Contains("/h/", StringComparison.Ordinal)));
            return await base.SetManyAsync(writes, cancellationToken);
        }

        public override async ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        {
            await HoldAsync(key.Contains("/h/", StringComparison.Ordinal));
            return await base.ListAppendAsync(key, items, timeToLive, cancellationToken);
        }

        private async Task HoldAsync(bool history)
        {
            if (history && Interlocked.Exchange(ref _held, 1) == 0)
            {
                Held.SetResult();
                await Release.Task;
            }
        }
    }

    /// <summary>Fails every write of a history record, before anything reaches the store.</summary>
    private sealed class FailHistoryWrites(IStateStore inner) : DelegatingStore(inner)
    {
        public override ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) =>
            IsHistory(key) ? throw Injected(key) : base.SetAsync(key, value, options, cancellationToken);

        public override ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default) =>
            writes.Any(w => IsHistory(w.Key)) ? throw Injected(writes[0].Key) : base.SetManyAsync(writes, cancellationToken);

        public override ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) =>
            IsHistory(key) ? throw Injected(key) : base.ListAppendAsync(key, items, timeToLive, cancellationToken);

        private static bool IsHistory(string key) => key.Contains("/h/", StringComparison.Ordinal);

        private StateStoreUnavailableException Injected(string key) => new(Name, "write", key, "injected failure before sending");
    }
}

/// <summary>The scope index under a store-wide default expiry.</summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class ProviderScopeIndexDefaultExpiryTests(string kind) : StoreFixture(kind)
{
    [Test]
    public async Task ClearScopeAndCheckpoint_ValueRewrittenAfterTheIndexWouldHaveExpired_StillSeeIt()
    {
        var provider = Container().GetRequiredService<IStateProvider>();
        var scope = StateScope.Local("agent");
        await provider.SetAsync(scope, "k", 1);
        Time.Advance(TimeSpan.FromMinutes(50));
        await provider.SetAsync(scope, "k", 2);
        Time.Advance(TimeSpan.FromMinutes(20));

        var checkpoint = await provider.CreateCheckpointAsync(scope);
        Assert.That(checkpoint.EntryCount, Is.EqualTo(1));
        await provider.ClearScopeAsync(scope);
        Assert.That(await provider.GetAsync<int>(scope, "k"), Is.Null);
        Assert.That(await provider.ListKeysAsync(scope).CountAsync(), Is.Zero);
    }

    protected override void ConfigureStore(StateStoreOptions options) => options.DefaultTimeToLive = TimeSpan.FromHours(1);
}
