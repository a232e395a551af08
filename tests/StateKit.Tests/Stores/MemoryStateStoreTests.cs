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

    [Test]
    public async Task TouchAsync_ManyTouchesOfOneKey_ExpiryScheduleStaysBoundedAndEntryIsStillPurged()
    {
        var time = new ManualTimeProvider();
        await using var store = new MemoryStateStore(timeProvider: time);
        await store.SetAsync("session", new byte[] { 1 }, new StateWriteOptions(TimeToLive: TimeSpan.FromMinutes(30)));
        for (var i = 0; i < 10_000; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            await store.TouchAsync("session", TimeSpan.FromMinutes(30));
        }

        Assert.That(store.ScheduledExpiryCount, Is.LessThanOrEqualTo(1024 + 3));
        time.Advance(TimeSpan.FromMinutes(31));
        Assert.That(await store.PurgeExpiredAsync(), Is.EqualTo(1));
        Assert.That(store.RawEntryCount, Is.EqualTo(0));
    }

    [Test]
    public async Task PurgeExpiredAsync_EntryTouchedBeyondFirstCheck_IsPurgedAtItsNewExpiry()
    {
        var time = new ManualTimeProvider();
        await using var store = new MemoryStateStore(timeProvider: time);
        await store.SetAsync("k", new byte[] { 1 }, new StateWriteOptions(TimeToLive: TimeSpan.FromSeconds(10)));
        await store.ListAppendAsync("l", [new byte[] { 1 }], TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(5));
        await store.TouchAsync("k", TimeSpan.FromSeconds(60));
        await store.ListTouchAsync("l", TimeSpan.FromSeconds(60));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(await store.PurgeExpiredAsync(), Is.EqualTo(0));
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.That(await store.PurgeExpiredAsync(), Is.EqualTo(2));
        Assert.That(store.RawEntryCount, Is.EqualTo(0));
    }

    [Test]
    public async Task ListAppendAsync_SingleItemExtension_AppendsOneItem()
    {
        await using var store = new MemoryStateStore();
        Assert.That(await store.ListAppendAsync("l", new byte[] { 1, 2 }), Is.EqualTo(1));
        Assert.That(await store.ListAppendAsync("l", new byte[] { 3 }), Is.EqualTo(2));
        Assert.That((await store.ListRangeAsync("l", -1, -1))[0].ToArray(), Is.EqualTo(new byte[] { 3 }));
    }
}
