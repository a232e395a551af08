using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Testing;

namespace StateKit.Tests.Provider;

/// <summary>The provider's behaviour, run on every store: memory, file, SQLite, PostgreSQL and Redis.</summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class StateProviderTests(string kind) : StoreFixture(kind)
{

    public sealed record Profile(string Name, int Age, string[] Tags);

    public sealed record Counter(int Value);

    public sealed record ChatMessage(string Role, string Text);

    [Test]
    public async Task SetAndGet_TypedValue_RoundTripsWithIncreasingVersions()
    {
        var provider = Build();
        var scope = StateScope.Local("agent-1");
        Assert.That(await provider.GetAsync<Profile>(scope, "profile"), Is.Null);
        Assert.That(await provider.SetAsync(scope, "profile", new Profile("Ada", 36, ["math"])), Is.EqualTo(1));
        Assert.That(await provider.SetAsync(scope, "profile", new Profile("Ada", 37, ["math"])), Is.EqualTo(2));
        var read = await provider.GetAsync<Profile>(scope, "profile");
        Assert.That(read!.Value.Age, Is.EqualTo(37));
        Assert.That(read.Version, Is.EqualTo(2));
        var many = await provider.GetManyAsync<Profile>(scope, ["profile", "missing"]);
        Assert.That(many.Keys, Is.EqualTo(new[] { "profile" }));
    }

    [Test]
    public async Task AnUnconditionalTypedWrite_OnATierWithoutHistory_IsOneStoreWrite_WithNoReadBefore()
    {
        // Issue 29: the Local and Session tiers keep no history by default, so a plain SetAsync there is one store write;
        // a tier that keeps history reads the current version first (its record is stored under the new version).
        var counting = new ReadCountingStore(Store);
        var provider = Container(store: counting).GetRequiredService<IStateProvider>();
        foreach (var scope in new[] { StateScope.Local("w"), StateScope.Session("w") })
        {
            await provider.SetAsync(scope, "k", new Counter(1)); // the first write also indexes the key
            counting.Reset();
            Assert.That(await provider.SetAsync(scope, "k", new Counter(2)), Is.EqualTo(2));
            Assert.That((counting.Reads, counting.Writes), Is.EqualTo((0, 1)), scope.ToString());
            Assert.That(await provider.GetHistoryAsync(scope, "k"), Is.Empty, scope.ToString());
        }

        var persistent = StateScope.Persistent("w");
        await provider.SetAsync(persistent, "k", new Counter(1));
        counting.Reset();
        await provider.SetAsync(persistent, "k", new Counter(2));
        Assert.That((counting.Reads, counting.Writes), Is.EqualTo((1, 1)), "a read, then the value and its history record in one batch");
        Assert.That((await provider.GetHistoryAsync(persistent, "k")).Select(v => v.Version), Is.EquivalentTo(new long[] { 1, 2 }));

        // Configured history on the Session tier is kept again.
        var keeping = Container(b => b.Services.Configure<StateProviderOptions>(o => o.HistoryLimits[StateTier.Session] = 3), counting).GetRequiredService<IStateProvider>();
        var session = StateScope.Session("kept");
        await keeping.SetAsync(session, "k", new Counter(1));
        await keeping.SetAsync(session, "k", new Counter(2));
        Assert.That((await keeping.GetHistoryAsync(session, "k")).Count, Is.EqualTo(2));
    }

    [Test]
    public async Task Scopes_SameKey_NeverSeeEachOther()
    {
        var provider = Build();
        StateScope[] scopes = [StateScope.Local("a"), StateScope.Local("b"), StateScope.Shared("a"), StateScope.Session("a"), StateScope.Persistent("a"), StateScope.Global];
        for (var i = 0; i < scopes.Length; i++)
        {
            await provider.SetAsync(scopes[i], "k", new Counter(i));
        }

        for (var i = 0; i < scopes.Length; i++)
        {
            Assert.That((await provider.GetAsync<Counter>(scopes[i], "k"))!.Value.Value, Is.EqualTo(i), scopes[i].ToString());
            Assert.That(await provider.ListKeysAsync(scopes[i]).ToListAsync(), Is.EqualTo(new[] { "k" }));
        }
    }

    [Test]
    public void Validation_BadOwnerIdsAndKeys_AreRefusedClearly()
    {
        var provider = Build();
        // Ids and keys often come from requests: a StateKit exception (400 through the ProblemDetails mapping), not an ArgumentException (500).
        Assert.That(() => StateScope.Local("a/b"), Throws.TypeOf<InvalidStateKeyException>().With.Message.Contains("owner id"));
        Assert.That(() => StateScope.Shared(""), Throws.TypeOf<InvalidStateKeyException>());
        Assert.That(() => StateScope.Session(new string('x', 129)), Throws.TypeOf<InvalidStateKeyException>());
        Assert.That(async () => await provider.SetAsync(StateScope.Local("a"), "../x", new Counter(1)), Throws.TypeOf<InvalidStateKeyException>().With.Message.Contains("not a valid state key").And.Message.Contains("SetAsync"));
        Assert.That(async () => await provider.GetAsync<Counter>(StateScope.Local("a"), "a\\b"), Throws.TypeOf<InvalidStateKeyException>());
        Assert.That(async () => await provider.RestoreCheckpointAsync(StateScope.Local("a"), "../up"), Throws.TypeOf<InvalidStateKeyException>());
        Assert.That(async () => await provider.GetAsync<Counter>(default, "k"), Throws.InvalidOperationException);
    }

    [Test]
    public async Task UpdateAsync_32TasksTimes100Increments_EndsAtExactly3200()
    {
        var provider = Build();
        var scope = StateScope.Shared("workspace");
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await provider.UpdateAsync<Counter>(scope, "counter", c => new Counter((c?.Value ?? 0) + 1));
            }
        })));
        var final = await provider.GetAsync<Counter>(scope, "counter");
        Assert.That(final!.Value.Value, Is.EqualTo(3200));
        Assert.That(final.Version, Is.EqualTo(3200));
    }

    [Test]
    public async Task UpdateAsync_AlwaysConflicting_GivesUpAfterMaxAttempts()
    {
        var provider = Build(services => services.Configure<StateProviderOptions>(o => o.MaxUpdateAttempts = 3), new AlwaysOvertakenStore(Store));
        var scope = StateScope.Local("a");
        await provider.SetAsync(scope, "k", new Counter(0));
        var calls = 0;
        var ex = await Assert.ThrowsAsync<StateConflictException>(async () => await provider.UpdateAsync<Counter>(scope, "k", c =>
        {
            calls++;
            return new Counter(c!.Value + 1);
        }));
        Assert.That(calls, Is.EqualTo(3));
        Assert.That(ex!.Message, Does.Contain("3 attempts"));
    }

    [Test]
    public async Task ConflictStrategies_FailLastFirstAndMerge_BehaveAsNamed()
    {
        var provider = Build();
        var scope = StateScope.Shared("w");
        await provider.SetAsync(scope, "tags", new Profile("x", 1, ["a"]));
        var stale = new StateSetOptions<Profile> { ExpectedVersion = 0 };

        var ex = await Assert.ThrowsAsync<StateConflictException>(async () => await provider.SetAsync(scope, "tags", new Profile("y", 2, ["b"]), stale));
        Assert.That(ex!.CurrentVersion, Is.EqualTo(1));

        stale.Strategy = StateConflictStrategy.FirstWriterWins;
        Assert.That(await provider.SetAsync(scope, "tags", new Profile("y", 2, ["b"]), stale), Is.EqualTo(1));
        Assert.That((await provider.GetAsync<Profile>(scope, "tags"))!.Value.Name, Is.EqualTo("x"));

        stale.Strategy = StateConflictStrategy.LastWriterWins;
        Assert.That(await provider.SetAsync(scope, "tags", new Profile("y", 2, ["b"]), stale), Is.EqualTo(2));
        Assert.That((await provider.GetAsync<Profile>(scope, "tags"))!.Value.Name, Is.EqualTo("y"));

        stale.Strategy = StateConflictStrategy.Merge;
        stale.Merge = (current, incoming) => incoming with { Tags = [.. current!.Tags, .. incoming.Tags] };
        Assert.That(await provider.SetAsync(scope, "tags", new Profile("z", 3, ["c"]), stale), Is.EqualTo(3));
        Assert.That((await provider.GetAsync<Profile>(scope, "tags"))!.Value.Tags, Is.EqualTo(new[] { "b", "c" }));
    }

    [Test]
    public async Task History_KeepsLastNPerTier_AndReadsPastVersions()
    {
        var provider = Build();
        var local = StateScope.Shared("a"); // Shared keeps 10 by default (Local and Session keep none)
        var persistent = StateScope.Persistent("a");
        for (var i = 1; i <= 12; i++)
        {
            await provider.SetAsync(local, "k", new Counter(i));
            await provider.SetAsync(persistent, "k", new Counter(i));
        }

        var history = await provider.GetHistoryAsync(local, "k");
        Assert.That(history.Select(h => h.Version), Is.EqualTo(Enumerable.Range(3, 10).Select(v => (long)v)), "Shared keeps 10");
        Assert.That((await provider.GetHistoryAsync(persistent, "k")).Count, Is.EqualTo(12), "Persistent keeps more");
        Assert.That((await provider.GetVersionAsync<Counter>(local, "k", 5))!.Value.Value, Is.EqualTo(5));
        Assert.That(await provider.GetVersionAsync<Counter>(local, "k", 2), Is.Null, "trimmed away");
        await provider.DeleteAsync(local, "k");
        Assert.That(await provider.GetHistoryAsync(local, "k"), Is.Empty, "a deleted key's history goes with it");
    }

    [Test]
    public async Task DiffAsync_TwoVersionsOfAnObject_ListsAddedModifiedRemovedWithNestedPaths()
    {
        var provider = Build();
        var scope = StateScope.Persistent("agent");
        await provider.SetAsync(scope, "doc", new Dictionary<string, object> { ["name"] = "a", ["age"] = 1, ["tags"] = new[] { "x" }, ["nested"] = new Dictionary<string, int> { ["a"] = 1 } });
        await provider.SetAsync(scope, "doc", new Dictionary<string, object> { ["name"] = "b", ["tags"] = new[] { "x", "y" }, ["nested"] = new Dictionary<string, int> { ["a"] = 2, ["b"] = 3 }, ["new"] = true });
        var diff = await provider.DiffAsync(scope, "doc", 1, 2);
        Assert.That(diff.Select(d => $"{d.Kind} {d.Path}"), Is.EquivalentTo(new[]
        {
            "Modified /name", "Removed /age", "Added /tags/1", "Modified /nested/a", "Added /nested/b", "Added /new",
        }));
        Assert.That(diff.Single(d => d.Path == "/name").OldValue, Is.EqualTo("\"a\""));
        Assert.That(async () => await provider.DiffAsync(scope, "doc", 1, 9), Throws.InstanceOf<StateNotFoundException>());
    }

    [Test]
    public async Task Checkpoint_CreateListRestoreDelete_PutsTheWholeScopeBack()
    {
        var provider = Build();
        var scope = StateScope.Session("s1");
        await provider.SetAsync(scope, "a", new Counter(1));
        await provider.SetAsync(scope, "b", new Counter(2));
        await provider.AppendAsync(scope, "chat", [new ChatMessage("user", "hi")]);
        var checkpoint = await provider.CreateCheckpointAsync(scope, "before-tool-call");
        Assert.That(checkpoint.EntryCount, Is.EqualTo(2));
        Assert.That(checkpoint.ListCount, Is.EqualTo(1));

        await provider.SetAsync(scope, "a", new Counter(10));
        await provider.DeleteAsync(scope, "b");
        await provider.SetAsync(scope, "c", new Counter(3));
        await provider.AppendAsync(scope, "chat", [new ChatMessage("assistant", "oops")]);
        await provider.AppendAsync(scope, "scratch", [new ChatMessage("tool", "x")]);

        await provider.RestoreCheckpointAsync(scope, checkpoint.Id);
        Assert.That((await provider.GetAsync<Counter>(scope, "a"))!.Value.Value, Is.EqualTo(1));
        Assert.That((await provider.GetAsync<Counter>(scope, "b"))!.Value.Value, Is.EqualTo(2));
        Assert.That(await provider.GetAsync<Counter>(scope, "c"), Is.Null);
        Assert.That(await provider.GetRangeAsync<ChatMessage>(scope, "chat"), Is.EqualTo(new[] { new ChatMessage("user", "hi") }));
        Assert.That(await provider.CountAsync(scope, "scratch"), Is.Zero);

        var listed = await provider.ListCheckpointsAsync(scope);
        Assert.That(listed.Select(c => (c.Id, c.Name)), Is.EqualTo(new[] { (checkpoint.Id, "before-tool-call") }));
        Assert.That(await provider.DeleteCheckpointAsync(scope, checkpoint.Id), Is.True);
        Assert.That(await provider.ListCheckpointsAsync(scope), Is.Empty);
        Assert.That(async () => await provider.RestoreCheckpointAsync(scope, checkpoint.Id), Throws.InstanceOf<StateNotFoundException>());
    }

    [Test]
    public async Task Fork_FromACheckpointOrFromNow_CopiesValuesAndLists_AndLeavesTheSourceUntouched()
    {
        // Issue 28: time travel — branch a conversation from any checkpoint into a new scope.
        var provider = Build();
        var chat = StateScope.Shared("chat-1");
        await provider.SetAsync(chat, "plan", new Counter(1));
        await provider.AppendAsync(chat, "log", [new ChatMessage("user", "hi")]);
        var checkpoint = await provider.CreateCheckpointAsync(chat, "turn-1");
        await provider.SetAsync(chat, "plan", new Counter(2));
        await provider.AppendAsync(chat, "log", [new ChatMessage("assistant", "hello")]);
        await provider.SetAsync(chat, "extra", new Counter(9));

        var branch = StateScope.Shared("chat-1-branch");
        Assert.That(await provider.ForkAsync(chat, branch, checkpoint.Id), Is.EqualTo((1, 1)));
        var forked = (await provider.GetAsync<Counter>(branch, "plan"))!;
        Assert.That((forked.Value.Value, forked.Version), Is.EqualTo((1, 1L)), "the checkpoint's value, at a new history's first version");
        Assert.That(await provider.GetRangeAsync<ChatMessage>(branch, "log"), Is.EqualTo(new[] { new ChatMessage("user", "hi") }));
        Assert.That(await provider.GetAsync<Counter>(branch, "extra"), Is.Null);
        Assert.That(await provider.ListKeysAsync(branch).ToListAsync(), Is.EqualTo(new[] { "plan" }));

        // The source is untouched, and the branch goes its own way.
        await provider.SetAsync(branch, "plan", new Counter(5));
        Assert.That((await provider.GetAsync<Counter>(chat, "plan"))!.Value.Value, Is.EqualTo(2));
        Assert.That(await provider.GetRangeAsync<ChatMessage>(chat, "log"), Has.Count.EqualTo(2));
        Assert.That((await provider.ListCheckpointsAsync(chat)).Select(c => c.Id), Is.EqualTo(new[] { checkpoint.Id }));

        // From now, into another tier.
        var archive = StateScope.Persistent("chat-1-archive");
        Assert.That(await provider.ForkAsync(chat, archive), Is.EqualTo((2, 1)));
        Assert.That((await provider.GetAsync<Counter>(archive, "extra"))!.Value.Value, Is.EqualTo(9));
        Assert.That(await provider.GetRangeAsync<ChatMessage>(archive, "log"), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task ForkAsOf_CopiesEachValueAsItWasThen_LeavesOutLaterOnes_AndRefusesWhatHistoryCannotTell()
    {
        // Issue 28: fork from a point in the history, without a checkpoint.
        var provider = Build();
        var chat = StateScope.Persistent("agent-asof");
        await provider.SetAsync(chat, "plan", new Counter(1));
        Time.Advance(TimeSpan.FromMinutes(1));
        var then = Time.GetUtcNow();
        Time.Advance(TimeSpan.FromMinutes(1));
        await provider.SetAsync(chat, "plan", new Counter(2));
        await provider.SetAsync(chat, "later", new Counter(7));
        await provider.AppendAsync(chat, "log", [new ChatMessage("user", "hi")]);

        var branch = StateScope.Persistent("agent-asof-branch");
        Assert.That(await provider.ForkAsOfAsync(chat, branch, then), Is.EqualTo((1, 1)));
        var forked = (await provider.GetAsync<Counter>(branch, "plan"))!;
        Assert.That((forked.Value.Value, forked.Version), Is.EqualTo((1, 1L)), "the value as it was then, at a new history's first version");
        Assert.That(await provider.GetAsync<Counter>(branch, "later"), Is.Null, "created after that instant");
        Assert.That(await provider.GetRangeAsync<ChatMessage>(branch, "log"), Has.Count.EqualTo(1), "lists keep no history: copied as they are");
        Assert.That((await provider.GetAsync<Counter>(chat, "plan"))!.Value.Value, Is.EqualTo(2), "the source is untouched");

        Assert.That(async () => await provider.ForkAsOfAsync(StateScope.Local("no-history"), StateScope.Local("elsewhere"), then), Throws.InstanceOf<InvalidOperationException>());
        var shared = StateScope.Shared("short-history");
        await provider.SetAsync(shared, "n", new Counter(0));
        var start = Time.GetUtcNow();
        for (var i = 1; i <= 12; i++)
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            await provider.SetAsync(shared, "n", new Counter(i)); // Shared keeps the last 10 versions
        }

        var gone = await Assert.ThrowsAsync<StateNotFoundException>(async () => await provider.ForkAsOfAsync(shared, StateScope.Shared("short-branch"), start));
        Assert.That(gone!.Message, Does.Contain("'n'").And.Contain("does not reach back"));
        Assert.That(await provider.ListKeysAsync(StateScope.Shared("short-branch")).ToListAsync(), Is.Empty, "nothing written");
    }

    [Test]
    public async Task Fork_IntoAScopeThatHoldsState_OrFromAMissingCheckpoint_IsRefused_AndChangesNothing()
    {
        var provider = Build();
        var chat = StateScope.Shared("chat-2");
        await provider.SetAsync(chat, "plan", new Counter(1));
        var taken = StateScope.Shared("taken");
        await provider.SetAsync(taken, "mine", new Counter(7));

        var conflict = await Assert.ThrowsAsync<StateConflictException>(async () => await provider.ForkAsync(chat, taken));
        Assert.That(conflict!.Key, Does.EndWith("/v/mine"));
        Assert.That(await provider.ListKeysAsync(taken).ToListAsync(), Is.EqualTo(new[] { "mine" }));
        Assert.That(await provider.GetAsync<Counter>(taken, "plan"), Is.Null);

        var listOnly = StateScope.Shared("list-only");
        await provider.AppendAsync(listOnly, "log", [new ChatMessage("user", "x")]);
        var listConflict = await Assert.ThrowsAsync<StateConflictException>(async () => await provider.ForkAsync(chat, listOnly));
        Assert.That(listConflict!.Key, Does.EndWith("/l/log"), "the list is named as a list");

        await Assert.ThrowsAsync<StateNotFoundException>(async () => await provider.ForkAsync(chat, StateScope.Shared("fresh"), "no-such-checkpoint"));
        Assert.That(await provider.ListKeysAsync(StateScope.Shared("fresh")).ToListAsync(), Is.Empty);
        await Assert.ThrowsAsync<ArgumentException>(async () => await provider.ForkAsync(chat, chat));
    }

    [Test]
    public async Task Fork_FailingMidway_LeavesTheTargetEmpty()
    {
        var failing = new FailingStore(Store);
        var provider = Build(store: failing);
        var chat = StateScope.Shared("chat-3");
        for (var i = 0; i < 5; i++)
        {
            await provider.SetAsync(chat, $"k{i}", new Counter(i));
        }

        var branch = StateScope.Shared("chat-3-branch");
        failing.FailAfterWrites(3);
        Assert.That(async () => await provider.ForkAsync(chat, branch), Throws.InstanceOf<StateStoreUnavailableException>());
        failing.FailAfterWrites(-1);
        for (var i = 0; i < 5; i++)
        {
            Assert.That(await provider.GetAsync<Counter>(branch, $"k{i}"), Is.Null, $"k{i} was removed again");
            Assert.That((await provider.GetAsync<Counter>(chat, $"k{i}"))!.Value.Value, Is.EqualTo(i));
        }

        Assert.That(await provider.ForkAsync(chat, branch), Is.EqualTo((5, 0)), "and the fork can be made again");
    }

    [Test]
    public async Task Restore_FailingMidway_LeavesTheScopeAsItWas()
    {
        var failing = new FailingStore(Store);
        var provider = Build(store: failing);
        var scope = StateScope.Local("a");
        for (var i = 0; i < 5; i++)
        {
            await provider.SetAsync(scope, $"k{i}", new Counter(i));
        }

        var checkpoint = await provider.CreateCheckpointAsync(scope);
        for (var i = 0; i < 5; i++)
        {
            await provider.SetAsync(scope, $"k{i}", new Counter(100 + i));
        }

        await provider.SetAsync(scope, "extra", new Counter(7));
        failing.FailAfterWrites(3);
        Assert.That(async () => await provider.RestoreCheckpointAsync(scope, checkpoint.Id), Throws.InstanceOf<StateStoreUnavailableException>());
        failing.FailAfterWrites(-1);

        for (var i = 0; i < 5; i++)
        {
            Assert.That((await provider.GetAsync<Counter>(scope, $"k{i}"))!.Value.Value, Is.EqualTo(100 + i), $"k{i} is as before the restore");
        }

        Assert.That((await provider.GetAsync<Counter>(scope, "extra"))!.Value.Value, Is.EqualTo(7));
        Assert.That(failing.Failures, Is.EqualTo(1), "the restore really failed midway");
    }

    [Test]
    public async Task AutomaticCheckpoints_EveryNChangesAndOnInterval_KeepTheNewest()
    {
        var provider = Build(services => services.Configure<StateProviderOptions>(o =>
        {
            o.AutoCheckpointEveryChanges = 3;
            o.AutoCheckpointInterval = TimeSpan.FromMinutes(10);
            o.MaxAutoCheckpoints = 2;
        }));
        var scope = StateScope.Shared("w");
        for (var i = 1; i <= 9; i++)
        {
            await provider.SetAsync(scope, "k", new Counter(i));
            Time.Advance(TimeSpan.FromMilliseconds(1));
        }

        var autos = await provider.ListCheckpointsAsync(scope);
        Assert.That(autos, Has.Count.EqualTo(2), "3 were taken, the oldest was deleted");
        Assert.That(autos.All(c => c.Name == "auto"), Is.True);

        Time.Advance(TimeSpan.FromMinutes(11));
        await provider.SetAsync(scope, "k", new Counter(10));
        var latest = (await provider.ListCheckpointsAsync(scope))[^1];
        Assert.That(latest.CreatedAt, Is.EqualTo(Time.GetUtcNow()), "the interval elapsed, so this change took one");
    }

    [Test]
    public async Task Lists_AppendRangeCountTrim_WorkLikeConversationHistory()
    {
        var provider = Build();
        var scope = StateScope.Session("s");
        var messages = Enumerable.Range(1, 30).Select(i => new ChatMessage(i % 2 == 0 ? "assistant" : "user", $"m{i}")).ToArray();
        Assert.That(await provider.AppendAsync(scope, "chat", messages[..25]), Is.EqualTo(25));
        Assert.That(await provider.AppendAsync(scope, "chat", messages[25..]), Is.EqualTo(30));
        Assert.That((await provider.GetRangeAsync<ChatMessage>(scope, "chat", -3, -1)).Select(m => m.Text), Is.EqualTo(new[] { "m28", "m29", "m30" }));
        Assert.That(await provider.CountAsync(scope, "chat"), Is.EqualTo(30));
        Assert.That(await provider.TrimToLastAsync(scope, "chat", 20), Is.EqualTo(20));
        Assert.That((await provider.GetRangeAsync<ChatMessage>(scope, "chat", 0, 0))[0].Text, Is.EqualTo("m11"));
        Assert.That(await provider.TrimToLastAsync(scope, "chat", 0), Is.Zero);
        Assert.That(await provider.CountAsync(scope, "chat"), Is.Zero);
    }

    [Test]
    public async Task Hooks_ValidatorAuditAndAuthorizer_AreApplied()
    {
        var audit = new ConcurrentQueue<StateChange>();
        var provider = Build(services =>
        {
            services.AddSingleton<IStateValidator<Profile>>(new ProfileValidator());
            services.AddSingleton<IStateAuditSink>(new QueueSink(audit));
            services.AddSingleton<IStateAuthorizer>(new ReadOnlyGlobal());
            services.AddSingleton<IStatePrincipalAccessor>(new FixedPrincipal("alice"));
        });
        var scope = StateScope.Local("a");

        var invalid = await Assert.ThrowsAsync<StateValidationException>(async () => await provider.SetAsync(scope, "p", new Profile("", -1, [])));
        Assert.That(invalid!.Problems, Is.EqualTo(new[] { "Name is required", "Age must not be negative" }));
        Assert.That(await provider.GetAsync<Profile>(scope, "p"), Is.Null, "nothing was written");

        await provider.SetAsync(scope, "p", new Profile("Ada", 36, []));
        await provider.SetAsync(scope, "p", new Profile("Ada", 37, []));
        await provider.DeleteAsync(scope, "p");
        Assert.That(audit.Select(c => (c.Kind, c.OldVersion, c.NewVersion, c.Principal)), Is.EqualTo(new[]
        {
            (StateChangeKind.Set, 0L, 1L, "alice"), (StateChangeKind.Set, 1L, 2L, "alice"), (StateChangeKind.Delete, 2L, 0L, "alice"),
        }));

        var denied = await Assert.ThrowsAsync<StateAccessDeniedException>(async () => await provider.SetAsync(StateScope.Global, "k", new Counter(1)));
        Assert.That(denied!.Message, Does.Contain("alice").And.Contain("write"));
        Assert.That(await provider.GetAsync<Counter>(StateScope.Global, "k"), Is.Null, "reads are allowed, and nothing was written");
    }

    [Test]
    public async Task ClearScope_RemovesValuesListsHistoryAndCheckpoints_OnlyOfThatScope()
    {
        var provider = Build();
        var gone = StateScope.Session("gone");
        var kept = StateScope.Session("kept");
        foreach (var scope in new[] { gone, kept })
        {
            await provider.SetAsync(scope, "k", new Counter(1));
            await provider.AppendAsync(scope, "chat", [new ChatMessage("user", "hi")]);
            await provider.CreateCheckpointAsync(scope);
        }

        Assert.That(await provider.ClearScopeAsync(gone), Is.EqualTo(2));
        Assert.That(await provider.GetAsync<Counter>(gone, "k"), Is.Null);
        Assert.That(await provider.CountAsync(gone, "chat"), Is.Zero);
        Assert.That(await provider.GetHistoryAsync(gone, "k"), Is.Empty);
        Assert.That(await provider.ListCheckpointsAsync(gone), Is.Empty);
        Assert.That(await Store.ListKeysAsync(gone.StorePrefix).ToListAsync(), Is.Empty, "nothing of the scope is left in the store");
        Assert.That((await provider.GetAsync<Counter>(kept, "k"))!.Value.Value, Is.EqualTo(1));
        Assert.That(await provider.CountAsync(kept, "chat"), Is.EqualTo(1));
        Assert.That(await provider.ListCheckpointsAsync(kept), Has.Count.EqualTo(1));
    }

    private IStateProvider Build(Action<IServiceCollection>? configure = null, IStateStore? store = null) =>
        Container(b => configure?.Invoke(b.Services), store).GetRequiredService<IStateProvider>();

    /// <summary>Another writer always gets in first: every conditional write finds the value one version further.</summary>
    private sealed class AlwaysOvertakenStore(IStateStore inner) : DelegatingStore(inner)
    {
        public override async ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
        {
            if (options.ExpectedVersion is > 0)
            {
                await base.SetAsync(key, value, default, cancellationToken);
            }

            return await base.SetAsync(key, value, options, cancellationToken);
        }

        public override async ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
        {
            foreach (var write in writes.Where(w => w.Options.ExpectedVersion is > 0))
            {
                await base.SetAsync(write.Key, write.Value, default, cancellationToken);
            }

            return await base.SetManyAsync(writes, cancellationToken);
        }
    }

    private sealed class ProfileValidator : IStateValidator<Profile>
    {
        public IEnumerable<string> Validate(StateScope scope, string key, Profile value)
        {
            if (string.IsNullOrEmpty(value.Name))
            {
                yield return "Name is required";
            }

            if (value.Age < 0)
            {
                yield return "Age must not be negative";
            }
        }
    }

    private sealed class QueueSink(ConcurrentQueue<StateChange> queue) : IStateAuditSink
    {
        public ValueTask OnChangeAsync(StateChange change, CancellationToken cancellationToken)
        {
            queue.Enqueue(change);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class ReadOnlyGlobal : IStateAuthorizer
    {
        public ValueTask<bool> AuthorizeAsync(ClaimsPrincipal? principal, StateAccess access, StateScope scope, string? key, CancellationToken cancellationToken) =>
            ValueTask.FromResult(scope.Tier != StateTier.Global || access == StateAccess.Read);
    }

    private sealed class FixedPrincipal(string name) : IStatePrincipalAccessor
    {
        public ClaimsPrincipal? Principal { get; } = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], "test"));
    }
}
