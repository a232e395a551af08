using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Testing;
using StateKit.Tests.Provider;

namespace StateKit.Tests.Sessions;

/// <summary>The session manager's behaviour, run on every store: memory, file, SQLite, PostgreSQL and Redis.</summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class SessionManagerTests(string kind) : StoreFixture(kind)
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(20);

    public sealed class ChatSession
    {
        public string? User { get; set; }

        public int Turns { get; set; }

        public string Notes { get; set; } = string.Empty;
    }

    [Test]
    public async Task CopyAsync_MakesANewSessionWithTheStateAndACopyOfItsScope_AndLeavesTheOriginalUntouched()
    {
        // Issue 28: copy a conversation to a new id.
        var (sessions, provider) = Build(o => o.IdleTimeout = Idle);
        var original = await sessions.CreateAsync(new ChatSession { User = "ada", Turns = 3 });
        await provider.SetAsync(original.Scope, "plan", "draft");
        await provider.AppendAsync(original.Scope, "log", ["hi", "hello"]);

        var copy = await sessions.CopyAsync(original.Id);
        Assert.That((copy.Id, copy.Scope), Is.Not.EqualTo((original.Id, original.Scope)));
        Assert.That((copy.State.User, copy.State.Turns, copy.Version), Is.EqualTo(("ada", 3, 1L)));
        Assert.That((await provider.GetAsync<string>(copy.Scope, "plan"))!.Value, Is.EqualTo("draft"));
        Assert.That(await provider.GetRangeAsync<string>(copy.Scope, "log"), Is.EqualTo(new[] { "hi", "hello" }));

        await provider.SetAsync(copy.Scope, "plan", "final");
        await sessions.UpdateAsync(copy.Id, s => new ChatSession { User = s.User, Turns = s.Turns + 1 });
        Assert.That((await provider.GetAsync<string>(original.Scope, "plan"))!.Value, Is.EqualTo("draft"));
        Assert.That((await sessions.GetAsync(original.Id))!.State.Turns, Is.EqualTo(3));

        Assert.That(await sessions.DeleteAsync(original.Id), Is.True);
        Assert.That((await sessions.GetAsync(copy.Id))!.State.Turns, Is.EqualTo(4), "the copy outlives the original");
        Assert.That((await provider.GetAsync<string>(copy.Scope, "plan"))!.Value, Is.EqualTo("final"));
        await Assert.ThrowsAsync<SessionNotFoundException>(async () => await sessions.CopyAsync(original.Id));
    }

    [Test]
    public async Task UpdateOfASessionRead_WritesWithoutReadingAgain_AndReappliesAfterAConflict()
    {
        var counting = new Provider.ReadCountingStore(Store);
        var (sessions, _) = Build(store: counting);
        var session = await sessions.CreateAsync(new ChatSession { Turns = 1 });
        var read = (await sessions.GetAsync(session.Id))!;
        var readsBefore = counting.Reads;
        var updated = await sessions.UpdateAsync(read, s => new ChatSession { Turns = s.Turns + 1, User = s.User });
        Assert.That(counting.Reads, Is.EqualTo(readsBefore), "no read: the version read is all compare-and-set needs");
        Assert.That((updated.State.Turns, updated.Version), Is.EqualTo((2, read.Version + 1)));

        // A stale session (another writer moved it on): re-read and re-applied, nothing lost.
        var stale = updated;
        await sessions.UpdateAsync(stale.Id, s => new ChatSession { Turns = s.Turns + 10 });
        var merged = await sessions.UpdateAsync(stale, s => new ChatSession { Turns = s.Turns + 1 });
        Assert.That(merged.State.Turns, Is.EqualTo(13), "the other writer's +10 and this +1");
        Assert.That((await sessions.GetAsync(stale.Id))!.State.Turns, Is.EqualTo(13));

        await sessions.DeleteAsync(stale.Id);
        await Assert.ThrowsAsync<SessionNotFoundException>(async () => await sessions.UpdateAsync(merged, s => s));
    }

    [Test]
    public async Task UpdateAtVersion_WritesOnlyAtTheVersionRead_AndCreateDefaultStateStoresNothing()
    {
        var (sessions, _) = Build();
        Assert.That(sessions.CreateDefaultState().Turns, Is.Zero);
        Assert.That(await sessions.ListActiveAsync().CountAsync(), Is.Zero, "a default state is not a session");
        var session = await sessions.CreateAsync();
        var moved = await sessions.UpdateAsync(session.Id, s => new ChatSession { Turns = s.Turns + 10 });

        var conflict = await Assert.ThrowsAsync<StateConflictException>(async () => await sessions.UpdateAtVersionAsync(session.Id, session.Version, s => new ChatSession { Turns = s.Turns + 1 }));
        Assert.That((conflict!.ExpectedVersion, conflict.CurrentVersion), Is.EqualTo((session.Version, moved.Version)));
        Assert.That((await sessions.GetAsync(session.Id))!.State.Turns, Is.EqualTo(10), "nothing written on a conflict");

        var updated = await sessions.UpdateAtVersionAsync(session.Id, moved.Version, s => new ChatSession { Turns = s.Turns + 1 });
        Assert.That((updated.State.Turns, updated.Version), Is.EqualTo((11, moved.Version + 1)));
        await Assert.ThrowsAsync<SessionNotFoundException>(async () => await sessions.UpdateAtVersionAsync("AAAAAAAAAAAAAAAAAAAAAA", 1, s => s));
    }

    [Test]
    public async Task CreateGetUpdateDelete_RoundTripWithUrlSafeRandomIds()
    {
        var (sessions, _) = Build();
        var first = await sessions.CreateAsync(new ChatSession { User = "ada" });
        var second = await sessions.CreateAsync();
        Assert.That(first.Id, Does.Match("^[A-Za-z0-9_-]{22}$"));
        Assert.That(second.Id, Is.Not.EqualTo(first.Id));
        Assert.That(first.IsNew, Is.True);

        var updated = await sessions.UpdateAsync(first.Id, s =>
        {
            s.Turns++;
            return s;
        });
        Assert.That(updated.State.Turns, Is.EqualTo(1));
        var read = await sessions.GetAsync(first.Id);
        Assert.That(read!.State.User, Is.EqualTo("ada"));
        Assert.That(read.State.Turns, Is.EqualTo(1));
        Assert.That(read.IsNew, Is.False);

        Assert.That(await sessions.DeleteAsync(first.Id), Is.True);
        Assert.That(await sessions.GetAsync(first.Id), Is.Null);
        Assert.That(await sessions.DeleteAsync(first.Id), Is.False);
        Assert.That(async () => await sessions.UpdateAsync(first.Id, s => s), Throws.InstanceOf<SessionNotFoundException>());
    }

    [Test]
    public async Task InvalidOrUnknownIds_GiveNewSessionsOrClearErrors_AsConfigured()
    {
        var (lenient, _) = Build();
        Assert.That(await lenient.GetAsync("../../etc/passwd"), Is.Null);
        var fresh = await lenient.GetOrCreateAsync("not-a-valid-id");
        Assert.That(fresh.IsNew, Is.True);
        Assert.That(fresh.Id, Is.Not.EqualTo("not-a-valid-id"));
        var unknown = await lenient.GetOrCreateAsync("AAAAAAAAAAAAAAAAAAAAAA");
        Assert.That(unknown.IsNew, Is.True);
        Assert.That(unknown.Id, Is.Not.EqualTo("AAAAAAAAAAAAAAAAAAAAAA"));

        var (strict, _) = Build(o => o.InvalidId = InvalidSessionIdBehavior.Throw);
        Assert.That(async () => await strict.GetAsync("bad id"), Throws.InstanceOf<InvalidSessionIdException>());
        Assert.That(async () => await strict.GetOrCreateAsync("AAAAAAAAAAAAAAAAAAAAAA"), Throws.InstanceOf<SessionNotFoundException>());
        Assert.That((await strict.GetOrCreateAsync(null)).IsNew, Is.True, "no id at all always starts a session");
    }

    [Test]
    public async Task SlidingRefresh_OnlyAfterTheConfiguredFraction_AndNeverRewritesTheState()
    {
        var counting = new CountingStore(Store);
        var (sessions, _) = Build(o => o.RefreshAfterFraction = 0.25, counting);
        var session = await sessions.CreateAsync();
        var writes = counting.Sets;

        Time.Advance(TimeSpan.FromMinutes(4)); // 20 % of the idle timeout
        await sessions.GetAsync(session.Id);
        Assert.That(counting.Touches, Is.Zero, "too early to refresh");

        Time.Advance(TimeSpan.FromMinutes(2)); // 30 %
        var refreshed = await sessions.GetAsync(session.Id);
        Assert.That(counting.Touches, Is.EqualTo(1));
        Assert.That(counting.Sets, Is.EqualTo(writes), "a refresh never rewrites the state");
        Assert.That(refreshed!.Version, Is.EqualTo(session.Version));
        Assert.That(refreshed.ExpiresAt, Is.EqualTo(Time.GetUtcNow() + Idle));

        Time.Advance(Idle - TimeSpan.FromSeconds(1));
        Assert.That(await sessions.GetAsync(session.Id), Is.Not.Null, "alive thanks to the refresh");
        Time.Advance(Idle + TimeSpan.FromSeconds(1));
        Assert.That(await sessions.GetAsync(session.Id), Is.Null, "idle timeout");
    }

    [Test]
    public async Task AbsoluteTimeout_EndsEvenABusySession()
    {
        var (sessions, _) = Build(o => o.AbsoluteTimeout = TimeSpan.FromHours(1));
        var session = await sessions.CreateAsync();
        for (var i = 0; i < 11; i++)
        {
            Time.Advance(TimeSpan.FromMinutes(5));
            Assert.That(await sessions.GetAsync(session.Id), Is.Not.Null, $"minute {(i + 1) * 5}");
        }

        Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        Assert.That(await sessions.GetAsync(session.Id), Is.Null, "past the absolute timeout");
    }

    [Test]
    public async Task RegenerateId_KeepsStateAndScope_OldIdDeadAtOnce()
    {
        var (sessions, provider) = Build();
        var session = await sessions.CreateAsync(new ChatSession { User = "ada" });
        await provider.AppendAsync(session.Scope, "chat", ["hello"]);
        var renewed = await sessions.RegenerateIdAsync(session.Id);
        Assert.That(renewed.Id, Is.Not.EqualTo(session.Id));
        Assert.That(renewed.State.User, Is.EqualTo("ada"));
        Assert.That(renewed.Scope, Is.EqualTo(session.Scope));
        Assert.That(await sessions.GetAsync(session.Id), Is.Null);
        Assert.That(async () => await sessions.UpdateAsync(session.Id, s => s), Throws.InstanceOf<SessionNotFoundException>());
        Assert.That(await provider.GetRangeAsync<string>(renewed.Scope, "chat"), Is.EqualTo(new[] { "hello" }));
    }

    [Test]
    public async Task Delete_RemovesSessionScopedStateAndLists()
    {
        var (sessions, provider) = Build();
        var session = await sessions.CreateAsync();
        await provider.SetAsync(session.Scope, "plan", "step 1");
        await provider.AppendAsync(session.Scope, "chat", ["hi", "there"]);
        await sessions.DeleteAsync(session.Id);
        Assert.That(await provider.GetAsync<string>(session.Scope, "plan"), Is.Null);
        Assert.That(await provider.CountAsync(session.Scope, "chat"), Is.Zero);
    }

    [Test]
    public async Task Isolation_StatelessStoresNothing_GlobalSharesOneState()
    {
        var (stateless, _) = Build(o => o.Isolation = SessionIsolation.Stateless);
        var s = await stateless.CreateAsync();
        await stateless.UpdateAsync(s.Id, x =>
        {
            x.Turns = 5;
            return x;
        });
        Assert.That((await stateless.GetAsync(s.Id))!.State.Turns, Is.Zero, "a fresh default state each time");
        Assert.That(await Store.ListKeysAsync().ToListAsync(), Is.Empty, "nothing stored");

        var (global, _) = Build(o => o.Isolation = SessionIsolation.Global);
        var a = await global.GetOrCreateAsync(null);
        await global.UpdateAsync(a.Id, x =>
        {
            x.Turns++;
            return x;
        });
        var b = await global.GetOrCreateAsync("AAAAAAAAAAAAAAAAAAAAAA");
        Assert.That(b.State.Turns, Is.EqualTo(1), "every session sees the one shared state");
    }

    [Test]
    public async Task Limits_MaxSessionsEvictsLeastRecentlyUsed_MaxStateSizeStoresNothing()
    {
        var events = new ConcurrentQueue<SessionEvent>();
        var (sessions, _) = Build(o =>
        {
            o.MaxSessions = 3;
            o.MaxStateBytes = 512;
        });
        sessions.SessionChanged += (_, e) => events.Enqueue(e);
        var one = await sessions.CreateAsync();
        var two = await sessions.CreateAsync();
        var three = await sessions.CreateAsync();
        await sessions.GetAsync(one.Id); // two is now the least recently used
        var four = await sessions.CreateAsync();
        Assert.That(await sessions.GetAsync(two.Id), Is.Null, "evicted");
        Assert.That(await sessions.GetAsync(one.Id), Is.Not.Null);
        Assert.That(await sessions.GetAsync(three.Id), Is.Not.Null);
        Assert.That(await sessions.GetAsync(four.Id), Is.Not.Null);
        Assert.That(events.Where(e => e.Kind == SessionEventKind.Evicted).Select(e => e.SessionId), Is.EqualTo(new[] { two.Id }));

        var before = await sessions.ListActiveAsync().CountAsync();
        var ex = await Assert.ThrowsAsync<SessionStateTooLargeException>(async () => await sessions.CreateAsync(new ChatSession { Notes = new string('x', 2000) }));
        Assert.That(ex!.MaxSize, Is.EqualTo(512));
        Assert.That(await sessions.ListActiveAsync().CountAsync(), Is.EqualTo(before), "nothing stored");
        Assert.That(async () => await sessions.UpdateAsync(one.Id, s =>
        {
            s.Notes = new string('y', 2000);
            return s;
        }), Throws.InstanceOf<SessionStateTooLargeException>());
        Assert.That((await sessions.GetAsync(one.Id))!.State.Notes, Is.Empty, "the oversized update was not stored");
        Assert.That(sessions.GetStats(), Is.EqualTo(new SessionStats(3, 4, 0, 1, 0)));
    }

    [Test]
    public async Task AFlood_InRefuseMode_IsRefused_AndNeverEvictsASessionInUse()
    {
        // Issue 30, item 1: 300 cookieless requests used to evict a victim's session.
        var (sessions, _) = Build(o =>
        {
            o.MaxSessions = 10;
            o.LimitBehavior = SessionLimitBehavior.Refuse;
        });
        var victim = await sessions.CreateAsync(new ChatSession { Notes = "mine" });
        await sessions.GetAsync(victim.Id);
        var refused = 0;
        for (var i = 0; i < 300; i++)
        {
            try
            {
                await sessions.CreateAsync();
            }
            catch (SessionLimitExceededException ex)
            {
                Assert.That(ex.MaxSessions, Is.EqualTo(10));
                refused++;
            }
        }

        Assert.That(refused, Is.EqualTo(291), "nine more fit, the rest is refused");
        Assert.That((await sessions.GetAsync(victim.Id))!.State.Notes, Is.EqualTo("mine"));
        Assert.That(sessions.GetStats().Evicted, Is.Zero);
    }

    [Test]
    public async Task AFlood_InEvictMode_EvictsSessionsNeverUsedAgain_BeforeOnesInUse()
    {
        var (sessions, _) = Build(o => o.MaxSessions = 10);
        var victim = await sessions.CreateAsync(new ChatSession { Notes = "mine" });
        await sessions.GetAsync(victim.Id); // used after it was created: the oldest, but in use
        for (var i = 0; i < 300; i++)
        {
            await sessions.CreateAsync();
        }

        Assert.That((await sessions.GetAsync(victim.Id))!.State.Notes, Is.EqualTo("mine"), "the flood evicted its own sessions");
        Assert.That(sessions.GetStats().Evicted, Is.EqualTo(291));
    }

    [Test]
    public async Task Cleanup_FindsExpiredSessions_RemovesTheirData_RaisesEventsAndCounts()
    {
        var events = new ConcurrentQueue<SessionEvent>();
        var (sessions, provider) = Build();
        sessions.SessionChanged += (_, e) => events.Enqueue(e);
        var expiring = await sessions.CreateAsync();
        await provider.AppendAsync(expiring.Scope, "chat", ["bye"]);
        Time.Advance(TimeSpan.FromMinutes(15));
        var kept = await sessions.CreateAsync();
        Time.Advance(TimeSpan.FromMinutes(6)); // the first is past its idle timeout, the second is not
        Assert.That(await sessions.CleanupExpiredAsync(), Is.EqualTo(1));
        Assert.That(await provider.CountAsync(expiring.Scope, "chat"), Is.Zero, "its session-scoped list is gone");
        Assert.That(await sessions.ListActiveAsync().ToListAsync(), Is.EqualTo(new[] { kept.Id }));
        Assert.That(events.Select(e => (e.Kind, e.SessionId)), Is.EqualTo(new[]
        {
            (SessionEventKind.Created, expiring.Id), (SessionEventKind.Created, kept.Id), (SessionEventKind.Expired, expiring.Id),
        }));
        Assert.That(sessions.GetStats(), Is.EqualTo(new SessionStats(1, 2, 1, 0, 0)));
        Assert.That(await sessions.CleanupExpiredAsync(), Is.Zero);
    }

    [Test]
    public async Task Cleanup_SessionUsedSinceItsCheckWasScheduled_IsCheckedAgainAtItsNewExpiry_AndUpdatesAddNoChecks()
    {
        var (sessions, _) = Build();
        var session = await sessions.CreateAsync();
        var step = Idle / 60;
        for (var i = 0; i < 50; i++)
        {
            Time.Advance(step);
            await sessions.UpdateAsync(session.Id, s =>
            {
                s.Turns++;
                return s;
            });
        }

        Assert.That(((StateKit.Internal.SessionManager<ChatSession>)sessions).ScheduledChecks, Is.EqualTo(1), "updates that move the expiry later add no checks");
        Time.Advance(step * 55); // past the first check (created + idle), before the last update's expiry (its time + idle)
        Assert.That(await sessions.CleanupExpiredAsync(), Is.Zero);
        Assert.That(sessions.GetStats().Active, Is.EqualTo(1));
        Time.Advance(step * 10); // now past the last update's expiry
        Assert.That(await sessions.CleanupExpiredAsync(), Is.EqualTo(1));
        Assert.That(await sessions.GetAsync(session.Id), Is.Null);
    }

    [Test]
    public async Task UpdateAsync_32TasksTimes100_OnOneSession_EndsAtExactly3200()
    {
        var (sessions, _) = Build();
        var session = await sessions.CreateAsync();
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await sessions.UpdateAsync(session.Id, s =>
                {
                    s.Turns++;
                    return s;
                });
            }
        })));
        Assert.That((await sessions.GetAsync(session.Id))!.State.Turns, Is.EqualTo(3200));
    }

    private (ISessionManager<ChatSession> Sessions, IStateProvider Provider) Build(Action<SessionOptions>? configure = null, IStateStore? store = null)
    {
        var container = Container(b => b.AddSessions<ChatSession>(configure), store);
        return (container.GetRequiredService<ISessionManager<ChatSession>>(), container.GetRequiredService<IStateProvider>());
    }

    private sealed class CountingStore(IStateStore inner) : DelegatingStore(inner)
    {
        public int Sets { get; private set; }

        public int Touches { get; private set; }

        public override ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
        {
            Sets++;
            return base.SetAsync(key, value, options, cancellationToken);
        }

        public override ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
        {
            Touches++;
            return base.TouchAsync(key, timeToLive, cancellationToken);
        }
    }
}
