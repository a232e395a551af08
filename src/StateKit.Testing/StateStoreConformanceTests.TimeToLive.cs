using NUnit.Framework;
using StateKit.Adapters;

namespace StateKit.Testing;

/// <content>
/// Contract v2: one meaning for a missing time to live on every write path (set, conditional set, batch, list append):
/// the store's default; <see cref="StateTimeToLive.KeepCurrent"/> keeps the current expiry.
/// </content>
public abstract partial class StateStoreConformanceTests<TStore>
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    /// <summary>Every write path without a time to live gives an existing entry or list the store's default, not its old expiry.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task EveryWritePath_WithoutTimeToLive_AppliesTheStoreDefaultToExistingKeys()
    {
        var store = await CreateStoreWithOptionsAsync(o => o.DefaultTimeToLive = Hour);
        foreach (var key in new[] { "set", "conditional", "batch" })
        {
            await store.SetAsync(key, Bytes("v1"), new StateWriteOptions(TimeToLive: Minute));
        }

        await store.ListAppendAsync("list", [Bytes("a")], Minute);
        var expected = StateStoreGuard.RoundUpToMillisecond(Time.GetUtcNow() + Hour);

        await store.SetAsync("set", Bytes("v2"));
        await store.SetAsync("conditional", Bytes("v2"), StateWriteOptions.IfVersion(1));
        await store.SetManyAsync([new StateWrite("batch", Bytes("v2"))]);
        await store.ListAppendAsync("list", [Bytes("b")]);

        foreach (var key in new[] { "set", "conditional", "batch" })
        {
            Assert.That((await store.GetAsync(key))!.ExpiresAt, Is.EqualTo(expected), key);
        }

        Time.Advance(Minute * 2);
        Assert.That(await RangeAsync(store, "list"), Is.EqualTo(new[] { "a", "b" }), "the append gave the list the default hour");
        Time.Advance(Hour);
        Assert.That(await ListAsync(store), Is.Empty);
        Assert.That(await store.ListLengthAsync("list"), Is.EqualTo(0));
    }

    /// <summary>Without a store default, a write without time to live makes an expiring list permanent (as it does an entry).</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListAppendAsync_WithoutTimeToLiveOrDefault_RemovesTheListsExpiry()
    {
        await Store.ListAppendAsync("chat", [Bytes("a")], Minute);
        await AppendAsync(Store, "chat", "b");
        Time.Advance(Minute * 5);
        Assert.That(await RangeAsync(Store, "chat"), Is.EqualTo(new[] { "a", "b" }));
    }

    /// <summary><see cref="StateTimeToLive.KeepCurrent"/> keeps a live entry's expiry on set and conditional set.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_KeepCurrent_KeepsTheLiveEntrysExpiry()
    {
        await Store.SetAsync("k", Bytes("v1"), new StateWriteOptions(TimeToLive: Minute));
        await Store.SetAsync("forever", Bytes("v1"));
        var expiresAt = (await Store.GetAsync("k"))!.ExpiresAt;
        Time.Advance(TimeSpan.FromSeconds(20));
        Assert.That(await Store.SetAsync("k", Bytes("v2"), new StateWriteOptions(TimeToLive: StateTimeToLive.KeepCurrent)), Is.EqualTo(2));
        Time.Advance(TimeSpan.FromSeconds(20));
        Assert.That(await Store.SetAsync("k", Bytes("v3"), new StateWriteOptions(2, StateTimeToLive.KeepCurrent)), Is.EqualTo(3));
        await Store.SetAsync("forever", Bytes("v2"), new StateWriteOptions(TimeToLive: StateTimeToLive.KeepCurrent));

        var entry = await Store.GetAsync("k");
        Assert.That(entry!.ExpiresAt, Is.EqualTo(expiresAt));
        Assert.That(Text(entry.Value), Is.EqualTo("v3"));
        Assert.That((await Store.GetAsync("forever"))!.ExpiresAt, Is.Null, "an entry without expiry keeps having none");
        Time.Advance(TimeSpan.FromSeconds(21));
        Assert.That(await Store.GetAsync("k"), Is.Null);
        Assert.That(await Store.GetAsync("forever"), Is.Not.Null);
    }

    /// <summary><see cref="StateTimeToLive.KeepCurrent"/> on a missing or expired key gives the new entry the store's default.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_KeepCurrent_NewOrExpiredKey_GetsTheStoreDefault()
    {
        var store = await CreateStoreWithOptionsAsync(o => o.DefaultTimeToLive = Hour);
        await store.SetAsync("expired", Bytes("old"), new StateWriteOptions(TimeToLive: Minute));
        Time.Advance(Minute * 2);
        var keep = new StateWriteOptions(TimeToLive: StateTimeToLive.KeepCurrent);
        var expected = StateStoreGuard.RoundUpToMillisecond(Time.GetUtcNow() + Hour);

        Assert.That(await store.SetAsync("new", Bytes("v"), keep), Is.EqualTo(1));
        Assert.That(await store.SetAsync("expired", Bytes("v"), keep with { ExpectedVersion = 0 }), Is.EqualTo(1));
        Assert.That((await store.GetAsync("new"))!.ExpiresAt, Is.EqualTo(expected));
        Assert.That((await store.GetAsync("expired"))!.ExpiresAt, Is.EqualTo(expected));
    }

    /// <summary>In a batch, <see cref="StateTimeToLive.KeepCurrent"/> keeps the expiry the key has at that point of the batch.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetManyAsync_KeepCurrent_SeesTheBatchsOwnEarlierWrite()
    {
        await Store.SetAsync("ttl/b/live", Bytes("v1"), new StateWriteOptions(TimeToLive: Minute));
        var liveExpiry = (await Store.GetAsync("ttl/b/live"))!.ExpiresAt;
        Time.Advance(TimeSpan.FromSeconds(10));
        var keep = new StateWriteOptions(TimeToLive: StateTimeToLive.KeepCurrent);
        var versions = await Store.SetManyAsync(
        [
            new StateWrite("ttl/b/live", Bytes("v2"), keep),
            new StateWrite("ttl/b/fresh", Bytes("v1"), new StateWriteOptions(TimeToLive: Hour)),
            new StateWrite("ttl/b/fresh", Bytes("v2"), keep),
            new StateWrite("ttl/b/cleared", Bytes("v1"), new StateWriteOptions(TimeToLive: Minute)),
            new StateWrite("ttl/b/cleared", Bytes("v2"), new StateWriteOptions(TimeToLive: Timeout.InfiniteTimeSpan)),
            new StateWrite("ttl/b/cleared", Bytes("v3"), keep),
        ]);

        Assert.That(versions, Is.EqualTo(new long[] { 2, 1, 2, 1, 2, 3 }));
        Assert.That((await Store.GetAsync("ttl/b/live"))!.ExpiresAt, Is.EqualTo(liveExpiry));
        Assert.That((await Store.GetAsync("ttl/b/fresh"))!.ExpiresAt, Is.EqualTo(StateStoreGuard.RoundUpToMillisecond(Time.GetUtcNow() + Hour)));
        Assert.That((await Store.GetAsync("ttl/b/cleared"))!.ExpiresAt, Is.Null);
        Time.Advance(Minute);
        Assert.That(await ListAsync(Store), Is.EqualTo(new[] { "ttl/b/cleared", "ttl/b/fresh" }));
    }

    /// <summary><see cref="StateTimeToLive.KeepCurrent"/> keeps a live list's expiry; a new list gets the store's default.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListAppendAsync_KeepCurrent_KeepsTheListsExpiry()
    {
        var store = await CreateStoreWithOptionsAsync(o => o.DefaultTimeToLive = Hour);
        await store.ListAppendAsync("chat", [Bytes("a")], Minute);
        Time.Advance(TimeSpan.FromSeconds(30));
        await store.ListAppendAsync("chat", [Bytes("b")], StateTimeToLive.KeepCurrent);
        await store.ListAppendAsync("new", [Bytes("a")], StateTimeToLive.KeepCurrent);
        Time.Advance(TimeSpan.FromSeconds(31));
        Assert.That(await store.ListLengthAsync("chat"), Is.EqualTo(0), "the append kept the minute the list had");
        Assert.That(await store.ListLengthAsync("new"), Is.EqualTo(1));
        Time.Advance(Hour);
        Assert.That(await store.ListLengthAsync("new"), Is.EqualTo(0), "a new list got the default hour");
    }

    /// <summary>Touches take a real time to live: <see cref="StateTimeToLive.KeepCurrent"/> is refused.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task TouchAsync_KeepCurrent_ThrowsArgumentOutOfRange()
    {
        await Store.SetAsync("k", Bytes("v"));
        await AppendAsync(Store, "l", "a");
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.TouchAsync("k", StateTimeToLive.KeepCurrent));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.ListTouchAsync("l", StateTimeToLive.KeepCurrent));
    }
}
