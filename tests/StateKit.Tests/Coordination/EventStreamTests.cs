using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace StateKit.Tests.Coordination;

/// <summary>
/// Issue 27, third slice: append-only event streams on every store, two instances: expected-version conflicts exact,
/// concurrent appenders leave no gap and no duplicate, aggregation from snapshots, truncation, a subscriber stopped and
/// resumed that sees every event in order, and streams removed with their scope.
/// </summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class EventStreamTests(string kind) : StoreFixture(kind)
{
    private static readonly StateScope Scope = StateScope.Shared("agent-9");
    private readonly string _kind = kind;

    [Test]
    public async Task AppendAndRead_ForwardAndBackward_WithExactConflicts()
    {
        var streams = new StateEventStreams(Store);
        Assert.That(await streams.GetVersionAsync(Scope, "log"), Is.Zero);
        Assert.That(await streams.AppendAsync(Scope, "log", new[] { new Did("a", 1) }, expectedVersion: 0), Is.EqualTo(1));
        Assert.That(await streams.AppendAsync(Scope, "log", new[] { new Did("a", 2), new Did("b", 3) }, expectedVersion: 1), Is.EqualTo(3));
        var conflict = await Assert.ThrowsAsync<StateConflictException>(async () => await streams.AppendAsync(Scope, "log", new[] { new Did("c", 9) }, expectedVersion: 1));
        Assert.That((conflict!.ExpectedVersion, conflict.CurrentVersion), Is.EqualTo((1L, 3L)), "the conflict names the stream's version");
        await Assert.ThrowsAsync<StateConflictException>(async () => await streams.AppendAsync(Scope, "log", new[] { new Did("c", 9) }, expectedVersion: 0));
        Assert.That(await streams.AppendAsync(Scope, "log", new[] { new Did("d", 4) }), Is.EqualTo(4), "no expected version: appended at the end");

        var forward = await streams.ReadAsync<Did>(Scope, "log");
        Assert.That(forward.Select(e => (e.Position, e.Event.Step)), Is.EqualTo(new[] { (1L, 1), (2L, 2), (3L, 3), (4L, 4) }));
        var backward = await streams.ReadAsync<Did>(Scope, "log", long.MaxValue, maxCount: 3, backward: true);
        Assert.That(backward.Select(e => e.Position), Is.EqualTo(new[] { 4L, 3L, 2L }));
        Assert.That((await streams.ReadAsync<Did>(Scope, "log", 3)).Select(e => e.Position), Is.EqualTo(new[] { 3L, 4L }));
        Assert.That(await streams.ReadAsync<Did>(Scope, "other"), Is.Empty);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await streams.AppendAsync(Scope, "log", Array.Empty<Did>()));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await streams.AppendAsync(Scope, "bad\u0001name", new[] { new Did("x", 0) }));
    }

    [Test]
    public async Task ConcurrentAppenders_OnTwoInstances_LeaveNoGapAndNoDuplicate()
    {
        await TestStores.WithTwinsAsync(_kind, Time, async (first, second) =>
        {
            var instances = new[] { new StateEventStreams(first), new StateEventStreams(second) };
            var conflicts = 0;
            var appenders = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                var streams = instances[w % 2];
                for (var i = 0; i < 15; i++)
                {
                    if (w % 4 == 0)
                    {
                        // Optimistic: read the version, append at it, retry on a conflict.
                        while (true)
                        {
                            var version = await streams.GetVersionAsync(Scope, "board");
                            try
                            {
                                await streams.AppendAsync(Scope, "board", new[] { new Did("w" + w, i), new Did("w" + w, 100 + i) }, version);
                                break;
                            }
                            catch (StateConflictException)
                            {
                                Interlocked.Increment(ref conflicts);
                            }
                        }
                    }
                    else
                    {
                        await streams.AppendAsync(Scope, "board", new[] { new Did("w" + w, i) });
                    }
                }
            })).ToArray();
            await Task.WhenAll(appenders);

            var all = await instances[0].ReadAsync<Did>(Scope, "board", maxCount: 10_000);
            Assert.That(all.Select(e => e.Position), Is.EqualTo(Enumerable.Range(1, all.Count).Select(p => (long)p)), "positions 1..n without a gap");
            Assert.That(all.Count, Is.EqualTo((6 * 15) + (2 * 15 * 2)), "every event once");
            Assert.That(all.GroupBy(e => (e.Event.Who, e.Event.Step)).Where(g => g.Count() > 1), Is.Empty, "no duplicate");
            foreach (var group in all.GroupBy(e => e.Event.Who))
            {
                Assert.That(group.Where(e => e.Event.Step < 100).Select(e => e.Event.Step), Is.Ordered, group.Key + "'s events in its order");
            }

            // A two-event append is contiguous (one batch).
            foreach (var e in all.Where(e => e.Event.Step < 100 && (e.Event.Who == "w0" || e.Event.Who == "w4")))
            {
                Assert.That(all[(int)e.Position].Event, Is.EqualTo(new Did(e.Event.Who, 100 + e.Event.Step)));
            }

            Assert.That(await instances[1].GetVersionAsync(Scope, "board"), Is.EqualTo(all.Count));
            TestContext.Out.WriteLine($"{conflicts} expected-version conflicts retried");
        });
    }

    [Test]
    public async Task Aggregate_FromSnapshots_AndTruncationBeforeTheSnapshot()
    {
        var streams = new StateEventStreams(Store);
        for (var i = 0; i < 25; i++)
        {
            await streams.AppendAsync(Scope, "turns", Enumerable.Range(i * 10, 10).Select(n => new Did("x", n)).ToArray());
        }

        var folds = 0;
        Func<long, StreamEvent<Did>, long> sum = (total, e) =>
        {
            folds++;
            return total + e.Event.Step;
        };
        var first = await streams.AggregateAsync(Scope, "turns", 0L, sum, snapshotEvery: 100);
        Assert.That((first.State, first.Version, first.FromSnapshot, folds), Is.EqualTo((Enumerable.Range(0, 250).Sum(n => (long)n), 250L, 0L, 250)));

        await streams.AppendAsync(Scope, "turns", new[] { new Did("x", 1000) });
        folds = 0;
        var second = await streams.AggregateAsync(Scope, "turns", 0L, sum, snapshotEvery: 100);
        Assert.That((second.State, second.Version, second.FromSnapshot, folds), Is.EqualTo((first.State + 1000, 251L, 250L, 1)), "from the snapshot: one event folded");

        Assert.That(await streams.TruncateBeforeSnapshotAsync(Scope, "turns"), Is.EqualTo(250));
        Assert.That((await streams.ReadAsync<Did>(Scope, "turns")).Select(e => e.Position), Is.EqualTo(new[] { 251L }), "reads start after the truncation");
        Assert.That((await streams.AggregateAsync(Scope, "turns", 0L, sum)).State, Is.EqualTo(second.State), "the aggregate is unchanged");
        Assert.That(await streams.AppendAsync(Scope, "turns", new[] { new Did("x", 1) }, expectedVersion: 251), Is.EqualTo(252), "the version goes on");
        Assert.That(await streams.TruncateBeforeSnapshotAsync(Scope, "turns"), Is.Zero, "nothing left before the snapshot");
    }

    [Test]
    public async Task ASubscriber_StoppedAndResumed_SeesEveryEventInOrder()
    {
        await TestStores.WithTwinsAsync(_kind, Time, async (first, second) =>
        {
            var writer = new StateEventStreams(second);
            await writer.AppendAsync(Scope, "feed", Enumerable.Range(1, 5).Select(n => new Did("w", n)).ToArray());
            var seen = new ConcurrentQueue<long>();
            var appending = Task.Run(async () =>
            {
                for (var n = 6; n <= 60; n++)
                {
                    await writer.AppendAsync(Scope, "feed", new[] { new Did("w", n) });
                    await Task.Delay(2);
                }
            });

            // Three lives of a subscriber, each stopped after a few events and resumed from the last position handled + 1.
            long resumeAt = 1;
            for (var life = 0; life < 3 || seen.Count < 60; life++)
            {
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var reader = new StateEventStreams(first);
                var handled = 0;
                try
                {
                    await foreach (var e in reader.SubscribeAsync<Did>(Scope, "feed", resumeAt, TimeSpan.FromMilliseconds(50), stop.Token))
                    {
                        seen.Enqueue(e.Position);
                        resumeAt = e.Position + 1;
                        if (++handled == 20 || e.Position == 60)
                        {
                            break; // killed (or done)
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"no new event for 30 s; seen up to {resumeAt - 1}");
                }

                Assert.That(life, Is.LessThan(20), "the subscriber makes progress");
            }

            await appending;
            Assert.That(seen, Is.EqualTo(Enumerable.Range(1, 60).Select(p => (long)p)), "every event, in order, once per life");
        });
    }

    [Test]
    public async Task Streams_GoWithTheirScope()
    {
        await using var container = Container();
        var streams = container.GetRequiredService<IStateEventStreams>();
        var state = container.GetRequiredService<IStateProvider>();
        var session = StateScope.Session("s-1");
        await streams.AppendAsync(session, "log", new[] { new Did("a", 1), new Did("a", 2) });
        await streams.AggregateAsync<int, Did>(session, "log", 0, (n, _) => n + 1, snapshotEvery: 1);
        await state.SetAsync(session, "v", 1);
        Assert.That(await state.ClearScopeAsync(session), Is.GreaterThanOrEqualTo(3));
        Assert.That(await streams.GetVersionAsync(session, "log"), Is.Zero);
        var left = await Store.ListKeysAsync(session.StorePrefix).ToListAsync();
        Assert.That(left, Is.Empty, "events, snapshot and index are gone");
        Assert.That(await streams.AppendAsync(session, "log", new[] { new Did("b", 1) }, expectedVersion: 0), Is.EqualTo(1), "a new stream after the clear, from position 1");
    }

    public sealed record Did(string Who, int Step);
}
