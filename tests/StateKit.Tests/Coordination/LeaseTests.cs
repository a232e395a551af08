using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace StateKit.Tests.Coordination;

/// <summary>
/// Issue 27, first slice: leases with fencing tokens on every store, two instances (two store objects on one backend,
/// as two app instances have): one live holder at a time, expired leases taken over with a larger token, a paused
/// holder's renewal and fenced writes refused, and a Jepsen-style run of workers pausing past their lease.
/// </summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class LeaseTests(string kind) : StoreFixture(kind)
{
    private readonly string _kind = kind;

    [Test]
    public async Task OneHolderAtATime_ReleaseHandsOver_AndEveryGrantHasALargerToken()
    {
        await TestStores.WithTwinsAsync(_kind, Time, async (first, second) =>
        {
            var a = new StateLeaseManager(first, Time);
            var b = new StateLeaseManager(second, Time);
            var lease = await a.TryAcquireAsync("task/1", TimeSpan.FromMinutes(1));
            Assert.That(lease, Is.Not.Null);
            Assert.That(await b.TryAcquireAsync("task/1", TimeSpan.FromMinutes(1)), Is.Null, "held by the other instance");
            Assert.That(await a.TryAcquireAsync("task/1", TimeSpan.FromMinutes(1)), Is.Null, "not re-entrant: a second grant is another holder");
            Assert.That(await b.TryAcquireAsync("task/2", TimeSpan.FromMinutes(1)), Is.Not.Null, "another resource is free");

            Assert.That(await lease!.RenewAsync(TimeSpan.FromMinutes(2)), Is.True);
            Assert.That(await lease.ReleaseAsync(), Is.True);
            Assert.That(await lease.RenewAsync(TimeSpan.FromMinutes(1)), Is.False, "released: not renewable");
            var next = await b.TryAcquireAsync("task/1", TimeSpan.FromMinutes(1));
            Assert.That(next!.FencingToken, Is.GreaterThan(lease.FencingToken));

            // The token keeps growing over many grants, renewals between them included.
            var last = next.FencingToken;
            await next.DisposeAsync();
            for (var i = 0; i < 5; i++)
            {
                await using var grant = (await (i % 2 == 0 ? a : b).TryAcquireAsync("task/1", TimeSpan.FromMinutes(1)))!;
                await grant.RenewAsync(TimeSpan.FromMinutes(1));
                Assert.That(grant.FencingToken, Is.GreaterThan(last));
                last = grant.FencingToken;
            }
        });
    }

    [Test]
    public async Task AnExpiredLease_IsTakenOver_AndThePausedHoldersRenewalAndFencedWriteAreRefused()
    {
        await TestStores.WithTwinsAsync(_kind, Time, async (first, second) =>
        {
            var a = new StateLeaseManager(first, Time);
            var b = new StateLeaseManager(second, Time);
            var paused = (await a.TryAcquireAsync("report", TimeSpan.FromSeconds(10)))!;
            await first.SetFencedAsync("report/output", Encoding.UTF8.GetBytes("a: started"), paused.FencingToken);

            Time.Advance(TimeSpan.FromSeconds(11)); // A is paused past its lease
            var taker = await b.TryAcquireAsync("report", TimeSpan.FromSeconds(10));
            Assert.That(taker, Is.Not.Null, "an expired lease is taken over");
            Assert.That(taker!.FencingToken, Is.GreaterThan(paused.FencingToken));
            await second.SetFencedAsync("report/output", Encoding.UTF8.GetBytes("b: done"), taker.FencingToken);

            // A wakes up: its renewal fails and its late write is refused, whatever it believes.
            Assert.That(await paused.RenewAsync(TimeSpan.FromSeconds(10)), Is.False);
            var refused = await Assert.ThrowsAsync<StateFencedException>(async () => await first.SetFencedAsync("report/output", Encoding.UTF8.GetBytes("a: late"), paused.FencingToken));
            Assert.That((refused!.FencingToken, refused.CurrentToken), Is.EqualTo((paused.FencingToken, taker.FencingToken)));
            var stored = await first.GetFencedAsync("report/output");
            Assert.That(Encoding.UTF8.GetString(stored!.Value.Span), Is.EqualTo("b: done"));
            Assert.That(stored.FencingToken, Is.EqualTo(taker.FencingToken));
            Assert.That(await paused.ReleaseAsync(), Is.False, "a lost lease releases nothing (the new holder keeps it)");
            Assert.That(await a.TryAcquireAsync("report", TimeSpan.FromSeconds(10)), Is.Null);
        });
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task JepsenStyle_WorkersPausingPastTheirLease_NeverGetAStaleWriteAccepted(bool throughL1)
    {
        // Real time here: 6 workers on two instances, 150 ms leases, random pauses of up to 300 ms between taking the
        // lease and writing (half of them past the lease); worker 0 always pauses until a later holder has written. Each accepted write appends (token, worker) to a shared
        // register through SetFencedAsync; the checker then reads the register's history.
        await TestStores.WithTwinsAsync(_kind, TimeProvider.System, async (first, second) =>
        {
            // Through L1 on each instance, reads may answer a lease entry the other instance has changed: the conditional
            // writes still decide at the store.
            var stores = throughL1
                ? new[] { new StateStorePipelineBuilder(new Pipeline.Encryption.Borrowed(first)).UseL1().Build(), new StateStorePipelineBuilder(new Pipeline.Encryption.Borrowed(second)).UseL1().Build() }
                : new[] { first, second };
            var managers = new[] { new StateLeaseManager(stores[0]), new StateLeaseManager(stores[1]) };
            var refused = 0;
            var accepted = 0;
            var grants = new ConcurrentBag<(long Token, int Worker)>();
            var deadline = DateTime.UtcNow.AddSeconds(4);
            var workers = Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
            {
                var random = new Random(worker * 7919);
                while (DateTime.UtcNow < deadline)
                {
                    var lease = await managers[worker % 2].TryAcquireAsync("register", TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(2));
                    if (lease is null)
                    {
                        continue;
                    }

                    grants.Add((lease.FencingToken, worker));
                    var store = stores[worker % 2];
                    if (worker == 0)
                    {
                        // The certain case: stay paused until a later holder has written (so this write is stale
                        // whatever the timing), then write.
                        while (DateTime.UtcNow < deadline && ((await store.GetFencedAsync("register/log"))?.FencingToken ?? 0) <= lease.FencingToken)
                        {
                            await Task.Delay(10);
                        }
                    }
                    else
                    {
                        await Task.Delay(random.Next(0, 300)); // a GC pause, a slow call: sometimes past the lease
                    }

                    try
                    {
                        var current = await store.GetFencedAsync("register/log");
                        var log = current is null ? string.Empty : Encoding.UTF8.GetString(current.Value.Span);
                        await store.SetFencedAsync("register/log", Encoding.UTF8.GetBytes(log + $"{lease.FencingToken}:{worker};"), lease.FencingToken);
                        Interlocked.Increment(ref accepted);
                    }
                    catch (StateFencedException)
                    {
                        Interlocked.Increment(ref refused);
                    }

                    await lease.ReleaseAsync();
                }
            })).ToArray();
            await Task.WhenAll(workers);

            var history = Encoding.UTF8.GetString((await first.GetFencedAsync("register/log"))!.Value.Span)
                .Split(';', StringSplitOptions.RemoveEmptyEntries)
                .Select(e => e.Split(':'))
                .Select(p => (Token: long.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), Worker: int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)))
                .ToList();
            Assert.That(history.Count, Is.GreaterThan(5), "the run made progress");
            Assert.That(refused, Is.GreaterThan(0), "worker 0 always writes after a later holder: its writes must be refused (else the run proved nothing)");
            for (var i = 1; i < history.Count; i++)
            {
                Assert.That(history[i].Token, Is.GreaterThanOrEqualTo(history[i - 1].Token), $"write {i}: a smaller token after a larger one is a stale holder's write");
            }

            // Every grant's token is unique: no two holders ever got the same grant.
            Assert.That(grants.GroupBy(g => g.Token).Where(g => g.Count() > 1).Select(g => g.Key), Is.Empty);
            Assert.That(history.Count, Is.LessThanOrEqualTo(accepted), "an accepted write may be overwritten only by a later one reading it first");
            if (throughL1)
            {
                await stores[0].DisposeAsync();
                await stores[1].DisposeAsync();
            }
        });
    }

    [Test]
    public async Task RunAsync_RenewsWhileTheWorkRuns_AndCancelsItWhenTheLeaseIsLost()
    {
        await using var container = Container();
        var leases = container.GetRequiredService<IStateLeaseManager>();
        Assert.That(leases, Is.InstanceOf<StateLeaseManager>(), "AddStateKit() registers the lease manager on the default store");
        var real = new StateLeaseManager(Store, Time);

        // The work outlives its lease on the (manual) clock: each round moves the clock 30 % of a lifetime, waits for a
        // renewal to move the expiry, then moves it 60 % more. Without the renewals the lease would expire in round 2.
        var ttl = TimeSpan.FromMilliseconds(300);
        var result = await real.RunAsync("job", ttl, async (lease, token) =>
        {
            for (var i = 0; i < 3; i++)
            {
                var before = lease.ExpiresAt;
                Time.Advance(ttl * 0.3);
                var waited = System.Diagnostics.Stopwatch.StartNew();
                while (lease.ExpiresAt == before)
                {
                    Assert.That(waited.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "no renewal came (a hang guard, not a timing check)");
                    await Task.Delay(5, token); // the renewal runs every third of the lifetime (real time)
                }

                Time.Advance(ttl * 0.6);
                Assert.That(await real.TryAcquireAsync("job", TimeSpan.FromSeconds(1)), Is.Null, $"still held after {i + 1} renewals");
            }

            return lease.FencingToken;
        });
        Assert.That(result, Is.GreaterThan(0));
        Assert.That(await real.TryAcquireAsync("job", TimeSpan.FromSeconds(1)), Is.Not.Null, "released at the end");

        // The lease is taken from under the work (its entry overwritten, as an expiry and takeover would): the work's
        // token is cancelled and RunAsync says the lease was lost.
        var lost = await Assert.ThrowsAsync<StateLeaseLostException>(async () => await real.RunAsync("job2", TimeSpan.FromMilliseconds(150), async (lease, token) =>
        {
            await Store.SetAsync(StateLeaseManager.KeyPrefix + "job2", Encoding.ASCII.GetBytes("not a lease of this holder"));
            await Task.Delay(TimeSpan.FromSeconds(20), token);
            return 0;
        }));
        Assert.That(lost!.FencingToken, Is.GreaterThan(0));
    }

    [Test]
    public async Task BadArguments_AndWriteBehind_AreRefused()
    {
        var journal = Directory.CreateTempSubdirectory("statekit-lease-wb-").FullName;
        await using (var journaled = new StateStorePipelineBuilder(new Pipeline.Encryption.Borrowed(Store)).UseWriteBehind(journal).Build())
        {
            Assert.That(Assert.Throws<ArgumentException>(() => _ = new StateLeaseManager(journaled))!.Message, Does.Contain("write-behind"));
        }

        Directory.Delete(journal, recursive: true);

        var leases = new StateLeaseManager(Store, Time);
        await Assert.ThrowsAsync<ArgumentException>(async () => await leases.TryAcquireAsync(string.Empty, TimeSpan.FromSeconds(1)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await leases.TryAcquireAsync("x", TimeSpan.Zero));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await leases.TryAcquireAsync("x", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(-2)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.SetFencedAsync("k", new byte[1], 0));
    }
}
