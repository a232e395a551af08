using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace StateKit.Tests.Issues;

/// <summary>
/// A session's scope data goes with the session whichever instance survives (a restart forgets nothing, another
/// instance's regeneration is respected), and a checkpoint of a session's scope includes the session's state.
/// </summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class SessionScopeLifetimeTests(string kind) : StoreFixture(kind)
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(20);
    private static readonly TimeSpan Sweep = TimeSpan.FromMinutes(10);

    public sealed record Chat(int Turns = 0, string Mood = "calm");

    [Test]
    public async Task SessionEndedWhileNoInstanceTrackedIt_ItsScopeIsClearedByAnotherInstancesSweep()
    {
        var before = Instance();
        var sessions = before.GetRequiredService<ISessionManager<Chat>>();
        var provider = before.GetRequiredService<IStateProvider>();
        var ended = await sessions.CreateAsync(new Chat(1));
        await provider.SetAsync(ended.Scope, "notes", "remember this");
        await provider.AppendAsync(ended.Scope, "messages", new[] { "hello", "hi" });
        await provider.CreateCheckpointAsync(ended.Scope);
        await before.DisposeAsync(); // the instance restarts: nothing in memory remembers the session

        var after = Instance();
        var survivor = after.GetRequiredService<ISessionManager<Chat>>();
        var provider2 = after.GetRequiredService<IStateProvider>();
        var live = await survivor.CreateAsync(new Chat(2));
        await provider2.SetAsync(live.Scope, "notes", "still here");

        // The live session is kept alive by use (sliding expiry); the ended one expires after 20 minutes.
        Time.Advance(TimeSpan.FromMinutes(15));
        await survivor.UpdateAsync(live.Id, c => c with { Turns = 3 });
        Time.Advance(Sweep);
        await survivor.UpdateAsync(live.Id, c => c with { Turns = 4 });
        await CleanupAndSweepAsync(survivor);
        Assert.That(await provider2.GetAsync<string>(ended.Scope, "notes"), Is.Not.Null, "the first sweep only suspects the scope");

        Time.Advance(Sweep);
        await survivor.UpdateAsync(live.Id, c => c with { Turns = 5 });
        await CleanupAndSweepAsync(survivor);

        Assert.That(await provider2.GetAsync<string>(ended.Scope, "notes"), Is.Null);
        Assert.That(await provider2.CountAsync(ended.Scope, "messages"), Is.Zero);
        Assert.That(await provider2.ListCheckpointsAsync(ended.Scope), Is.Empty);
        Assert.That(await KeysAsync("session/" + ended.Scope.OwnerId + "/"), Is.Empty, "no value, history or checkpoint of the ended session is left");
        Assert.That(await KeysAsync("session-scopes/"), Has.Count.EqualTo(1), "only the live session's owner entry is left");
        Assert.That((await provider2.GetAsync<string>(live.Scope, "notes"))!.Value, Is.EqualTo("still here"));
    }

    [Test]
    public async Task IdRegeneratedOnAnotherInstance_TheFirstInstancesExpiryCheckLeavesTheScope()
    {
        var a = Instance();
        var b = Instance();
        var onA = a.GetRequiredService<ISessionManager<Chat>>();
        var onB = b.GetRequiredService<ISessionManager<Chat>>();
        var session = await onA.CreateAsync(new Chat(1));
        await a.GetRequiredService<IStateProvider>().SetAsync(session.Scope, "notes", "mine");

        var regenerated = await onB.RegenerateIdAsync(session.Id);
        Assert.That(regenerated.Scope, Is.EqualTo(session.Scope));
        Time.Advance(Idle - TimeSpan.FromMinutes(1));
        await onB.UpdateAsync(regenerated.Id, c => c with { Turns = 2 });
        Time.Advance(TimeSpan.FromMinutes(2)); // A's check of the old id comes due; its record is gone
        Assert.That(await onA.CleanupExpiredAsync(), Is.EqualTo(1), "A forgets the old id");

        var notes = await b.GetRequiredService<IStateProvider>().GetAsync<string>(regenerated.Scope, "notes");
        Assert.That(notes?.Value, Is.EqualTo("mine"), "the scope belongs to the regenerated session, which is alive");
    }

    [Test]
    public async Task DeletedSession_RemovesItsScopeAndOwnerEntry()
    {
        var container = Instance();
        var sessions = container.GetRequiredService<ISessionManager<Chat>>();
        var session = await sessions.CreateAsync();
        await container.GetRequiredService<IStateProvider>().SetAsync(session.Scope, "notes", "x");
        Assert.That(await sessions.DeleteAsync(session.Id), Is.True);
        Assert.That(await KeysAsync(string.Empty), Is.Empty);
    }

    [Test]
    public async Task CheckpointOfASessionScope_RestoresTheSessionStateWithTheConversation()
    {
        var container = Instance();
        var sessions = container.GetRequiredService<ISessionManager<Chat>>();
        var provider = container.GetRequiredService<IStateProvider>();
        var session = await sessions.CreateAsync(new Chat(1, "calm"));
        await provider.AppendAsync(session.Scope, "messages", new[] { "hello" });
        var checkpoint = await provider.CreateCheckpointAsync(session.Scope, "before");

        var changed = await sessions.UpdateAsync(session.Id, c => c with { Turns = 2, Mood = "angry" });
        await provider.AppendAsync(session.Scope, "messages", new[] { "you broke it" });
        var regenerated = await sessions.RegenerateIdAsync(session.Id);
        await provider.RestoreCheckpointAsync(session.Scope, checkpoint.Id);

        var restored = await sessions.GetAsync(regenerated.Id);
        Assert.That(restored!.State, Is.EqualTo(new Chat(1, "calm")), "the session state is part of the checkpoint");
        Assert.That(changed.State.Mood, Is.EqualTo("angry"));
        Assert.That(restored.Version, Is.GreaterThan(regenerated.Version), "the restore is a new write of the live session");
        Assert.That(restored.ExpiresAt, Is.EqualTo(regenerated.ExpiresAt).Within(TimeSpan.FromMilliseconds(1)), "a restore keeps the session's expiry");
        Assert.That(await provider.GetRangeAsync<string>(session.Scope, "messages"), Is.EqualTo(new[] { "hello" }));
    }

    [Test]
    public async Task SweepTurnedOff_LeavesTheScopeOfAnUntrackedEndedSession()
    {
        var before = Instance(sweep: TimeSpan.Zero);
        var ended = await before.GetRequiredService<ISessionManager<Chat>>().CreateAsync();
        await before.GetRequiredService<IStateProvider>().SetAsync(ended.Scope, "notes", "x");
        await before.DisposeAsync();

        var after = Instance(sweep: TimeSpan.Zero);
        var sessions = after.GetRequiredService<ISessionManager<Chat>>();
        for (var i = 0; i < 4; i++)
        {
            Time.Advance(Idle);
            await CleanupAndSweepAsync(sessions);
        }

        Assert.That(await after.GetRequiredService<IStateProvider>().GetAsync<string>(ended.Scope, "notes"), Is.Not.Null, "OrphanSweepInterval = 0 turns the sweep off");
    }

    [Test]
    public async Task CheckpointOfTheGlobalSession_RestoresItsState()
    {
        var container = Container(b => b.AddSessions<Chat>(o => o.Isolation = SessionIsolation.Global));
        var sessions = container.GetRequiredService<ISessionManager<Chat>>();
        var provider = container.GetRequiredService<IStateProvider>();
        var global = await sessions.UpdateAsync("any", c => c with { Turns = 1 });
        var checkpoint = await provider.CreateCheckpointAsync(global.Scope);
        await sessions.UpdateAsync("any", c => c with { Turns = 7 });
        await provider.RestoreCheckpointAsync(global.Scope, checkpoint.Id);
        Assert.That((await sessions.GetAsync("any"))!.State.Turns, Is.EqualTo(1));
    }

    /// <summary>A cleanup pass, then the orphan sweep it started (which runs beside the pass) to its end.</summary>
    private static async Task CleanupAndSweepAsync(ISessionManager<Chat> sessions)
    {
        await sessions.CleanupExpiredAsync();
        await ((Internal.SessionManager<Chat>)sessions).Sweeping;
    }

    private ServiceProvider Instance(TimeSpan? sweep = null) => Container(b => b.AddSessions<Chat>(o =>
    {
        o.IdleTimeout = Idle;
        o.OrphanSweepInterval = sweep ?? Sweep;
    }));

    private async Task<List<string>> KeysAsync(string prefix)
    {
        var keys = new List<string>();
        await foreach (var key in Store.ListKeysAsync(prefix))
        {
            keys.Add(key);
        }

        return keys;
    }
}
