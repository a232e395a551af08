using System.Collections.Concurrent;
using Npgsql;
using NUnit.Framework;
using StateKit.Postgres;

namespace StateKit.Tests.Postgres;

/// <content>
/// Issue 29: the tables' triggers notify only while a change feed is registered (schema version 5), since PostgreSQL
/// commits notifying transactions one at a time. Checked from outside with a plain LISTEN connection that is not
/// registered: it hears the notices only while a store's feed is.
/// </content>
public sealed partial class PostgresStateStoreTests
{
    [Test]
    public async Task WithNoFeedRegistered_WritesSendNoNotice_ASubscriberTurnsThemOn_AndDisposingTurnsThemOff()
    {
        var options = NewOptions();
        await using var writer = new PostgresStateStore(options);
        await writer.SetAsync("warm", new byte[] { 1 }); // the schema exists
        await using var eavesdropper = await EavesdropAsync(writer.NoticeChannel);

        await writer.SetAsync("quiet", new byte[] { 1 });
        await writer.ListAppendAsync("quiet-list", new byte[] { 1 });
        await writer.DeleteAsync("quiet");
        Assert.That(await eavesdropper.NextAsync(TimeSpan.FromSeconds(1)), Is.Null, "no registered feed: no notice (and no commit-order lock)");

        var listening = new PostgresStateStore(options);
        var heard = new ConcurrentQueue<StateStoreChange>();
        var subscription = await listening.SubscribeAsync(string.Empty, (change, _) =>
        {
            heard.Enqueue(change);
            return ValueTask.CompletedTask;
        });
        await writer.SetAsync("loud", new byte[] { 2 });
        await writer.ListAppendAsync("loud-list", new byte[] { 2 });
        Assert.That(await eavesdropper.NextAsync(TimeSpan.FromSeconds(10)), Does.StartWith("s|1|").And.EndWith("|loud"));
        Assert.That(await eavesdropper.NextAsync(TimeSpan.FromSeconds(10)), Does.StartWith("a|1|").And.EndWith("|loud-list"));
        await WaitUntilAsync(() => heard.Count >= 2);
        Assert.That(heard.Select(c => (c.Kind, c.Key)), Is.EqualTo(new[] { (StateStoreChangeKind.Set, "loud"), (StateStoreChangeKind.ListAppend, "loud-list") }));

        await subscription.DisposeAsync();
        await listening.DisposeAsync(); // the feed stops with its store and removes its registration
        await writer.SetAsync("quiet-again", new byte[] { 3 });
        Assert.That(await eavesdropper.NextAsync(TimeSpan.FromSeconds(1)), Is.Null, "the last feed stopped: no notice");
        Assert.That(await CountRegistrationsAsync(options), Is.Zero);
    }

    [Test]
    public async Task ChangesCommittedAfterSubscribing_AreAllAnnounced_WhileWritersRunDuringTheRegistration()
    {
        // The race the registration has to close: writers whose trigger looked for a registration just before it
        // committed. After SubscribeAsync returns, every version written later must be announced.
        var options = NewOptions();
        await using var writer = new PostgresStateStore(options);
        const int keys = 8;
        for (var k = 0; k < keys; k++)
        {
            await writer.SetAsync($"k{k}", new byte[] { 0 });
        }

        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, keys).Select(k => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await writer.SetAsync($"k{k}", new byte[] { 1 });
            }
        })).ToArray();
        try
        {
            await Task.Delay(200); // the writers are at full speed when the feed registers
            await using var listening = new PostgresStateStore(options);
            var heard = new ConcurrentDictionary<(string, long), bool>();
            await using var subscription = await listening.SubscribeAsync(string.Empty, (change, _) =>
            {
                heard[(change.Key, change.Version)] = true;
                return ValueTask.CompletedTask;
            });
            var from = new long[keys];
            for (var k = 0; k < keys; k++)
            {
                from[k] = (await writer.GetAsync($"k{k}"))!.Version;
            }

            await Task.Delay(300);
            await stop.CancelAsync();
            await Task.WhenAll(writers);
            var to = new long[keys];
            for (var k = 0; k < keys; k++)
            {
                to[k] = (await writer.GetAsync($"k{k}"))!.Version;
            }

            await WaitUntilAsync(() => Enumerable.Range(0, keys).All(k => heard.ContainsKey(($"k{k}", to[k]))));
            var missing = Enumerable.Range(0, keys)
                .SelectMany(k => Enumerable.Range((int)from[k] + 1, (int)(to[k] - from[k])).Select(v => ($"k{k}", (long)v)))
                .Where(c => !heard.ContainsKey(c)).ToList();
            Assert.That(to.Zip(from).Sum(p => p.First - p.Second), Is.GreaterThan(keys), "the writers kept writing after the subscription");
            Assert.That(missing, Is.Empty, "every change committed after SubscribeAsync returned was announced");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }
    }

    [Test]
    public async Task Subscribing_WaitsForAWriteWhoseTriggerLookedBeforeTheRegistration()
    {
        // A writer's transaction that wrote (its trigger found no registration, so it sent no notice) and has not
        // committed yet: if SubscribeAsync returned now, that change would commit after it unannounced. It must wait.
        var options = NewOptions();
        await using var writer = new PostgresStateStore(options);
        await writer.SetAsync("k", new byte[] { 1 });
        await using var connection = new NpgsqlConnection(TestServers.Postgres);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var write = new NpgsqlCommand($"UPDATE \"{options.Schema}\".statekit_entries SET version = version + 1 WHERE key = 'k'", connection, transaction))
        {
            Assert.That(await write.ExecuteNonQueryAsync(), Is.EqualTo(1));
        }

        await using var listening = new PostgresStateStore(options);
        var subscribing = listening.SubscribeAsync(string.Empty, (_, _) => ValueTask.CompletedTask).AsTask();
        var first = await Task.WhenAny(subscribing, Task.Delay(TimeSpan.FromSeconds(1)));
        Assert.That(first, Is.Not.SameAs(subscribing), "SubscribeAsync returned while a write that sent no notice was still uncommitted");
        await transaction.CommitAsync();
        await using var subscription = await subscribing.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That((await writer.GetAsync("k"))!.Version, Is.EqualTo(2));
    }

    [Test]
    public async Task ARegistrationThatExpired_IsRenewed_WithAResync_AndNoticesResume()
    {
        // A store that stalled past its registration's expiry (or whose row someone removed) may have missed changes:
        // its next heartbeat (every 10 s) finds the row gone, registers again and tells its subscribers to resync.
        var options = NewOptions();
        await using var writer = new PostgresStateStore(options);
        await using var listening = new PostgresStateStore(options);
        var heard = new ConcurrentQueue<StateStoreChange>();
        await using var subscription = await listening.SubscribeAsync(string.Empty, (change, _) =>
        {
            heard.Enqueue(change);
            return ValueTask.CompletedTask;
        });
        Assert.That(await CountRegistrationsAsync(options), Is.EqualTo(1));

        await using (var dataSource = NpgsqlDataSource.Create(TestServers.Postgres))
        await using (var expire = dataSource.CreateCommand($"UPDATE \"{options.Schema}\".statekit_listeners SET expires_at = now() - interval '1 second'"))
        {
            await expire.ExecuteNonQueryAsync();
        }

        await writer.SetAsync("unannounced", new byte[] { 1 });
        await WaitUntilAsync(() => heard.Any(c => c.Kind == StateStoreChangeKind.Resync), TimeSpan.FromSeconds(30));
        Assert.That(heard.Any(c => c.Key == "unannounced"), Is.False, "an expired registration gets no notices: hence the resync");
        await writer.SetAsync("announced", new byte[] { 2 });
        await WaitUntilAsync(() => heard.Any(c => c.Key == "announced"));
        Assert.That(await CountRegistrationsAsync(options), Is.EqualTo(1));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan? limit = null)
    {
        var until = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                Assert.Fail("The condition did not hold in time.");
            }

            await Task.Delay(20);
        }
    }

    private static async Task<long> CountRegistrationsAsync(PostgresStateStoreOptions options)
    {
        await using var dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
        await using var count = dataSource.CreateCommand($"SELECT count(*) FROM \"{options.Schema}\".statekit_listeners WHERE expires_at > now()");
        return (long)(await count.ExecuteScalarAsync())!;
    }

    private static async Task<Eavesdropper> EavesdropAsync(string channel)
    {
        var connection = new NpgsqlConnection(TestServers.Postgres);
        await connection.OpenAsync();
        var eavesdropper = new Eavesdropper(connection);
        await using var listen = new NpgsqlCommand($"LISTEN \"{channel}\"", connection);
        await listen.ExecuteNonQueryAsync();
        return eavesdropper;
    }

    /// <summary>A LISTEN connection that is not registered: what any process hears on the channel.</summary>
    private sealed class Eavesdropper : IAsyncDisposable
    {
        private readonly NpgsqlConnection _connection;
        private readonly Queue<string> _payloads = new();

        public Eavesdropper(NpgsqlConnection connection)
        {
            _connection = connection;
            _connection.Notification += (_, e) => _payloads.Enqueue(e.Payload);
        }

        /// <summary>The next notice within <paramref name="limit"/>, or <see langword="null"/>.</summary>
        public async Task<string?> NextAsync(TimeSpan limit)
        {
            var until = DateTime.UtcNow + limit;
            while (_payloads.Count == 0)
            {
                var left = until - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !await _connection.WaitAsync(left))
                {
                    break;
                }
            }

            return _payloads.TryDequeue(out var payload) ? payload : null;
        }

        public ValueTask DisposeAsync() => _connection.DisposeAsync();
    }
}
