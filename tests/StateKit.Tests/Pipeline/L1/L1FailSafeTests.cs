using NUnit.Framework;
using StateKit.Redis;
using StateKit.Testing;

namespace StateKit.Tests.Hybrid;

/// <summary>The L1 fail-safe against a real outage: Redis stopped and restarted with the server hooks of tests/run.sh.</summary>
public sealed class L1FailSafeTests
{
    [Test]
    public async Task RedisStopped_ReadsAnswerStaleWithinTheMaximum_FailTypedBeyondIt_WritesFail_AndAllRecovers()
    {
        var stop = TestServers.Command("STATEKIT_REDIS_STOP");
        var start = TestServers.Command("STATEKIT_REDIS_START");
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var redis = new RedisStateStore(
            new RedisStateStoreOptions { Configuration = TestServers.Redis + ",connectTimeout=500", RedisKeyPrefix = "sktest-failsafe", KeyPrefix = "f" + Guid.NewGuid().ToString("N")[..8], OperationTimeout = TimeSpan.FromSeconds(1) },
            time);
        await using var l1 = new L1StateStore(redis, new L1StateStoreOptions { Lifetime = TimeSpan.FromSeconds(5), FailSafeMaxStaleness = TimeSpan.FromMinutes(1) }, time);
        var version = await l1.SetAsync("k", new byte[] { 1, 2, 3 });
        await l1.SetAsync("never-read", new byte[] { 9 });
        var fresh = await l1.GetAsync("k");
        Assert.That(l1.IsStale(fresh!), Is.False);

        await TestServers.RunAsync(stop);
        try
        {
            time.Advance(TimeSpan.FromSeconds(10)); // past the lifetime: a normal read would go to Redis
            var stale = await l1.GetAsync("k");
            Assert.That((stale!.Version, stale.Value.ToArray(), l1.IsStale(stale)), Is.EqualTo((version, new byte[] { 1, 2, 3 }, true)), "the last value read, marked stale");
            await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await l1.GetAsync("never-read"), "nothing to fall back on: the store's failure");
            await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await l1.SetAsync("k", new byte[] { 4 }), "writes never pretend");

            time.Advance(TimeSpan.FromMinutes(2)); // beyond the maximum staleness
            await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await l1.GetAsync("k"));
        }
        finally
        {
            await TestServers.RunAsync(start);
        }

        // The test server keeps nothing across a restart: the store finds its data gone back and says so once.
        StateVersionRegressedException? told = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                var written = await l1.SetAsync("k", new byte[] { 5 });
                var read = await l1.GetAsync("k");
                Assert.That((read!.Version, l1.IsStale(read)), Is.EqualTo((written, false)), "recovered without a restart");
                break;
            }
            catch (StateStoreUnavailableException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
            catch (StateVersionRegressedException ex) when (told is null)
            {
                told = ex;
            }
        }

        Assert.That(told, Is.Not.Null, "Redis restarted empty: the store reported that its data went back");
    }
}
