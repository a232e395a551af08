using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Internal;

namespace StateKit.Tests.Hybrid;

/// <summary>
/// Another instance's update whose notice races this instance's conditional write that it beat: the notice is held
/// back while the write runs and reported when it fails, or classified as another instance's when it comes before or
/// after. Before, a notice held back after the failed write had been checked (and before its pending entry was removed)
/// was never reported.
/// </summary>
public sealed class SessionRemoteEventsRaceTests
{
    [Test]
    public async Task ANoticeRacingAFailedConditionalWrite_IsReportedExactlyOnce_WhateverTheOrder()
    {
        const int rounds = 20_000;
        var reported = 0;
        var classified = 0;
        await using var memory = new MemoryStateStore();
        var events = new SessionRemoteEvents("sessions/t/", (_, _) => Interlocked.Increment(ref reported));
        for (var i = 0; i < rounds; i++)
        {
            var key = "sessions/t/" + i;
            await memory.SetAsync(key, new byte[] { 1 });
            await memory.SetAsync(key, new byte[] { 2 }); // another instance's update: version 2
            var notice = new StateStoreChange(key, StateStoreChangeKind.Set, 2);
            var delivery = Task.Run(() =>
            {
                if (events.Classify(notice) is not null)
                {
                    Interlocked.Increment(ref classified);
                }
            });
            try
            {
                await events.SetAsync(memory, key, new byte[] { 3 }, StateWriteOptions.IfVersion(1), CancellationToken.None); // this instance, at the old version
                Assert.Fail("the write at version 1 must conflict");
            }
            catch (StateConflictException)
            {
            }

            await delivery;
        }

        Assert.That(reported + classified, Is.EqualTo(rounds), $"{reported} reported after the failed write, {classified} classified on arrival");
    }

    [Test]
    public async Task ASubscriptionThatFailsAtFirst_IsTriedAgain_AndOtherInstancesChangesArrive()
    {
        // Before, a failed subscription was tried again only when another SessionChanged handler was added: one refused
        // subscribe (a busy server) and this instance never heard of another's changes.
        await using var memory = new MemoryStateStore();
        var flaky = new FailingSubscriptions(memory, failures: 2);
        var services = new ServiceCollection();
        services.AddStateKit().UseStore(_ => flaky).AddSessions<Chat>(o => o.CrossInstanceEvents = true);
        await using var provider = services.BuildServiceProvider();
        var a = provider.GetRequiredService<ISessionManager<Chat>>();
        var seen = new List<SessionEvent>();
        a.SessionChanged += (_, e) =>
        {
            lock (seen)
            {
                seen.Add(e);
            }
        };
        await ((SessionManagerBase<Chat>)a).RemoteEventsListening.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.That(flaky.Attempts, Is.EqualTo(3), "two refusals, then the subscription");

        // Another instance writes a session record (a store write this manager did not make).
        var id = (await a.CreateAsync(new Chat())).Id;
        var recordKey = await memory.ListKeysAsync("sessions/").SingleAsync(k => k.EndsWith("/" + id, StringComparison.Ordinal));
        var record = (await memory.GetAsync(recordKey))!;
        await memory.SetAsync(record.Key, record.Value, StateWriteOptions.IfVersion(record.Version));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!Snapshot().Any(e => e.FromOtherInstance) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.That(Snapshot().Where(e => e.FromOtherInstance).Select(e => (e.Kind, e.SessionId)), Is.EqualTo(new[] { (SessionEventKind.Updated, id) }));

        List<SessionEvent> Snapshot()
        {
            lock (seen)
            {
                return [.. seen];
            }
        }
    }

    public sealed record Chat(int Turns = 0);

    /// <summary>A store whose change feed refuses the first <paramref name="failures"/> subscriptions, as a busy server does.</summary>
    private sealed class FailingSubscriptions(IStateStore inner, int failures) : DelegatingStateStore(inner), IStateChangeFeed
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public override object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(IStateChangeFeed) && serviceKey is null ? this : base.GetService(serviceType, serviceKey);

        public ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _attempts) <= failures
                ? throw new StateStoreUnavailableException(Name, "Subscribe", null, "could not LISTEN for changes (test)")
                : Inner.GetRequiredService<IStateChangeFeed>().SubscribeAsync(prefix, onChange, cancellationToken);

        protected override ValueTask DisposeAsyncCore() => ValueTask.CompletedTask;
    }
}
