using NUnit.Framework;
using StateKit.Testing;

namespace StateKit.Tests.Stores;

public sealed class MemoryStateStoreTests
{
    [Test]
    public async Task PurgeExpiredAsync_ManyLiveFewExpired_RemovesOnlyDueEntriesFromMemory()
    {
        var time = new ManualTimeProvider();
        await using var store = new MemoryStateStore(timeProvider: time);
        for (var i = 0; i < 1000; i++)
        {
            await store.SetAsync($"live{i}", new byte[] { 1 });
        }

        for (var i = 0; i < 10; i++)
        {
            await store.SetAsync($"due{i}", new byte[] { 1 }, new StateWriteOptions(TimeToLive: TimeSpan.FromSeconds(1)));
        }

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(store.RawEntryCount, Is.EqualTo(1010), "expired entries stay until purged");
        Assert.That(await store.PurgeExpiredAsync(), Is.EqualTo(10));
        Assert.That(store.RawEntryCount, Is.EqualTo(1000));
    }

    [Test]
    public async Task SetAsync_WhenEntriesAreDue_PurgesSomeOpportunistically()
    {
        var time = new ManualTimeProvider();
        await using var store = new MemoryStateStore(timeProvider: time);
        for (var i = 0; i < 10; i++)
        {
            await store.SetAsync($"due{i}", new byte[] { 1 }, new StateWriteOptions(TimeToLive: TimeSpan.FromSeconds(1)));
        }

        time.Advance(TimeSpan.FromSeconds(2));
        await store.SetAsync("trigger", new byte[] { 1 });
        Assert.That(store.RawEntryCount, Is.EqualTo(1), "a write removes due entries without a purge call");
    }

    [Test]
    public async Task TouchAsync_RewrittenEntry_StaleExpiryDoesNotRemoveIt()
    {
        var time = new ManualTimeProvider();
        await using var store = new MemoryStateStore(timeProvider: time);
        await store.SetAsync("k", new byte[] { 1 }, new StateWriteOptions(TimeToLive: TimeSpan.FromSeconds(1)));
        await store.TouchAsync("k", TimeSpan.FromMinutes(10));
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.That(await store.PurgeExpiredAsync(), Is.EqualTo(0));
        Assert.That(await store.ExistsAsync("k"), Is.True);
    }
}
