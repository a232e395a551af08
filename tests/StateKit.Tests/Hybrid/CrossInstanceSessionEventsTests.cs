using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace StateKit.Tests.Hybrid;

/// <summary><see cref="SessionOptions.CrossInstanceEvents"/> on every store: one instance's session changes reach the other's <c>SessionChanged</c>.</summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class CrossInstanceSessionEventsTests(string kind) : StoreFixture(kind)
{
    private readonly string _kind = kind;

    [Test]
    public async Task ChangesOnOneInstance_AreReportedOnTheOther_AndNeverTwiceOnTheWriter()
    {
        var (first, second) = TestStores.CreateTwins(_kind, Time, out var cleanup);
        try
        {
            var a = Container(b => b.AddSessions<Chat>(o => o.CrossInstanceEvents = true), first).GetRequiredService<ISessionManager<Chat>>();
            var b = Container(b => b.AddSessions<Chat>(o => o.CrossInstanceEvents = true), second).GetRequiredService<ISessionManager<Chat>>();
            var onA = new List<SessionEvent>();
            var onB = new List<SessionEvent>();
            a.SessionChanged += (_, e) => Add(onA, e);
            b.SessionChanged += (_, e) => Add(onB, e);
            await Listening(a, b); // the subscriptions start in the background with the first handler

            var session = await a.CreateAsync(new Chat(1));
            session = await a.UpdateAsync(session, c => c with { Turns = 2 });
            await a.DeleteAsync(session.Id);
            await Until(() => Snapshot(onB).Count(e => e.FromOtherInstance) >= 3);

            Assert.That(Snapshot(onB).Select(e => (e.Kind, e.SessionId, e.FromOtherInstance)), Is.EqualTo(new[]
            {
                (SessionEventKind.Created, session.Id, true),
                (SessionEventKind.Updated, session.Id, true),
                (SessionEventKind.Deleted, session.Id, true),
            }));
            Assert.That(b.GetStats().Created, Is.Zero, "other instances' changes do not count in this instance's statistics");
            var marker = await Sentinel(b, onA); // every notice of A's own changes came back to A before B's later one
            Assert.That(Snapshot(onA).Where(e => e.SessionId != marker).Select(e => (e.Kind, e.FromOtherInstance)), Is.EqualTo(new[]
            {
                (SessionEventKind.Created, false),
                (SessionEventKind.Updated, false),
                (SessionEventKind.Deleted, false),
            }), "the writer sees its own changes once, as its own");
        }
        finally
        {
            await first.DisposeAsync();
            await second.DisposeAsync();
            await cleanup();
        }
    }

    [Test]
    public async Task AnotherInstancesUpdate_ThatBeatsThisInstancesWrite_IsStillReportedOnce()
    {
        var (first, second) = TestStores.CreateTwins(_kind, Time, out var cleanup);
        try
        {
            var a = Container(b => b.AddSessions<Chat>(o => o.CrossInstanceEvents = true), first).GetRequiredService<ISessionManager<Chat>>();
            var b = Container(b => b.AddSessions<Chat>(o => o.CrossInstanceEvents = true), second).GetRequiredService<ISessionManager<Chat>>();
            var onA = new List<SessionEvent>();
            a.SessionChanged += (_, e) => Add(onA, e);
            await Listening(a);

            var created = await a.CreateAsync(new Chat(1));
            await b.UpdateAsync(created.Id, c => c with { Turns = c.Turns + 10 }); // B moves the session on
            var merged = await a.UpdateAsync(created, c => c with { Turns = c.Turns + 1 }); // A writes at the old version: conflict, retry
            Assert.That(merged.State.Turns, Is.EqualTo(12));
            await Until(() => Snapshot(onA).Any(e => e.FromOtherInstance), () => string.Join(", ", Snapshot(onA)));
            var marker = await Sentinel(b, onA);
            Assert.That(Snapshot(onA).Where(e => e.SessionId != marker).Select(e => (e.Kind, e.FromOtherInstance)), Is.EquivalentTo(new[]
            {
                (SessionEventKind.Created, false),
                (SessionEventKind.Updated, true),
                (SessionEventKind.Updated, false),
            }), "B's update once, as another instance's; A's own update once");
        }
        finally
        {
            await first.DisposeAsync();
            await second.DisposeAsync();
            await cleanup();
        }
    }

    /// <summary>Waits until the managers listen to other instances' changes.</summary>
    private static Task Listening(params ISessionManager<Chat>[] managers) =>
        Task.WhenAll(managers.Select(m => ((Internal.SessionManagerBase<Chat>)m).RemoteEventsListening)).WaitAsync(TimeSpan.FromSeconds(20));

    /// <summary>
    /// Creates a session on <paramref name="other"/> and waits until <paramref name="events"/> has it: the feed delivers
    /// in order, so every earlier notice (of the listener's own changes too) has been handled by then.
    /// </summary>
    /// <returns>The sentinel session's id, to leave out of the assertions.</returns>
    private static async Task<string> Sentinel(ISessionManager<Chat> other, List<SessionEvent> events)
    {
        var sentinel = await other.CreateAsync(new Chat());
        await Until(() => Snapshot(events).Any(e => e.SessionId == sentinel.Id && e.FromOtherInstance), () => string.Join(", ", Snapshot(events)));
        return sentinel.Id;
    }

    private static void Add(List<SessionEvent> events, SessionEvent e)
    {
        lock (events)
        {
            events.Add(e);
        }
    }

    private static List<SessionEvent> Snapshot(List<SessionEvent> events)
    {
        lock (events)
        {
            return [.. events];
        }
    }

    private static async Task Until(Func<bool> condition, Func<string>? seen = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("the other instance's events did not arrive; seen: " + seen?.Invoke());
            }

            await Task.Delay(10);
        }
    }

    /// <summary>The test session state.</summary>
    /// <param name="Turns">A counter.</param>
    public sealed record Chat(int Turns = 0);
}
