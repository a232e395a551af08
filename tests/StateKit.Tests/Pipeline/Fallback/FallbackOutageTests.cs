using System.Collections.Concurrent;
using NUnit.Framework;
using StateKit.Redis;
using StateKit.Sqlite;

namespace StateKit.Tests.Resilience;

/// <summary>
/// A real outage: Redis killed under a steady load with a SQLite fallback, then started again (the server hooks of
/// tests/run.sh). Redis runs without persistence here, so it comes back empty: every key replayed is also a conflict
/// (the primary "changed" from the journaled version to nothing), resolved by the default policy, the fallback's value.
/// </summary>
public sealed class FallbackOutageTests
{
    [Test]
    public async Task RedisKilledUnderLoad_NoRequestFails_TheJournalReplays_AndTheFinalStateEqualsTheModel()
    {
        var stop = TestServers.Command("STATEKIT_REDIS_STOP");
        var start = TestServers.Command("STATEKIT_REDIS_START");
        var root = Directory.CreateTempSubdirectory("statekit-outage-").FullName;
        var redisOptions = new RedisStateStoreOptions
        {
            Configuration = TestServers.Redis + ",connectTimeout=500",
            RedisKeyPrefix = "sktest-outage-" + Guid.NewGuid().ToString("N")[..8],
            OperationTimeout = TimeSpan.FromSeconds(1),
        };
        var chain = new FallbackStateStore(
            [new RedisStateStore(redisOptions), new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = Path.Combine(root, "fallback.db") })],
            new FallbackStateStoreOptions { ProbeInterval = TimeSpan.FromMilliseconds(200), MaxProbeInterval = TimeSpan.FromSeconds(1) });
        var conflicts = new ConcurrentQueue<FallbackConflict>();
        chain.Conflict += (_, e) => conflicts.Enqueue(e);
        var model = new ConcurrentDictionary<string, string>();
        var failures = new ConcurrentQueue<(Exception Error, bool OnFallback)>();
        var staleReads = 0;
        using var running = new CancellationTokenSource();

        // Four clients, each the only writer of its ten keys: what a client last had acknowledged is what must be there.
        var clients = Enumerable.Range(0, 4).Select(client => Task.Run(async () =>
        {
            for (var n = 0; !running.IsCancellationRequested; n++)
            {
                var key = $"client{client}/k{n % 10}";
                var value = $"{client}:{n}";
                try
                {
                    await chain.SetAsync(key, System.Text.Encoding.UTF8.GetBytes(value));
                    model[key] = value;
                    var read = await chain.GetAsync(key);
                    if (read is null || System.Text.Encoding.UTF8.GetString(read.Value.Span) != value)
                    {
                        Interlocked.Increment(ref staleReads);
                    }
                }
                catch (Exception ex) when (ex is StateStoreException)
                {
                    failures.Enqueue((ex, chain.IsOnFallback));
                }
            }
        })).ToArray();

        try
        {
            await Task.Delay(1000);
            await TestServers.RunAsync(stop);
            await FallbackStateStoreTests.WaitAsync(() => chain.IsOnFallback, "the switch to the fallback");
            await FallbackStateStoreTests.WaitAsync(() => chain.PendingReplay == 40, "every key written during the outage (the load goes on)", seconds: 60);
            await Task.Delay(1000);
        }
        finally
        {
            await TestServers.RunAsync(start);
        }

        // The Redis client reconnects with its own backoff, which grows with the outage; on a loaded machine that takes a while.
        await FallbackStateStoreTests.WaitAsync(() => !chain.IsOnFallback, "the switch back after Redis restarted", seconds: 120);
        await Task.Delay(500);
        await running.CancelAsync();
        await Task.WhenAll(clients);

        TestContext.Out.WriteLine($"operations held {chain.LastSwitchBackHold.TotalMilliseconds:F1} ms at the switch back; {chain.Replayed} keys replayed");
        Assert.That(failures, Is.Empty, "no request failed, before or after the switch");
        Assert.That(staleReads, Is.Zero, "every read saw the client's own last write");
        Assert.That(chain.PendingReplay, Is.Zero);
        Assert.That(conflicts.Select(c => c.Key).Distinct().Count(), Is.EqualTo(40), "Redis came back empty: every replayed key is reported");
        await using (var redis = new RedisStateStore(redisOptions))
        {
            foreach (var (key, value) in model)
            {
                var inRedis = await redis.GetAsync(key);
                Assert.That(inRedis is null ? null : System.Text.Encoding.UTF8.GetString(inRedis.Value.Span), Is.EqualTo(value), key + " on Redis");
                Assert.That(System.Text.Encoding.UTF8.GetString((await chain.GetAsync(key))!.Value.Span), Is.EqualTo(value), key + " through the chain");
            }
        }

        await chain.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(root, recursive: true);
    }
}
