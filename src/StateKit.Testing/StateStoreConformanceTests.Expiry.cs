using NUnit.Framework;

namespace StateKit.Testing;

/// <content>Time to live, touch and purge; all driven by <see cref="ManualTimeProvider"/>.</content>
public abstract partial class StateStoreConformanceTests<TStore>
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    /// <summary>An entry with a TTL is visible until it expires and carries its expiry.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task GetAsync_BeforeExpiry_ReturnsEntryWithExpiresAt()
    {
        await Store.SetAsync("k", Bytes("v"), new StateWriteOptions(TimeToLive: Minute));
        Time.Advance(TimeSpan.FromSeconds(59));
        var entry = await Store.GetAsync("k");
        Assert.That(entry, Is.Not.Null);
        Assert.That(entry!.ExpiresAt, Is.EqualTo(Time.GetUtcNow() + TimeSpan.FromSeconds(1)).Within(TimeSpan.FromMilliseconds(1)));
    }

    /// <summary>An expired entry is invisible to get, before any purge.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task GetAsync_AfterExpiry_ReturnsNullBeforePurge()
    {
        await Store.SetAsync("k", Bytes("v"), new StateWriteOptions(TimeToLive: Minute));
        Time.Advance(Minute);
        Assert.That(await Store.GetAsync("k"), Is.Null);
    }

    /// <summary>An expired entry is invisible to batch get.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task GetManyAsync_AfterExpiry_OmitsExpired()
    {
        await Store.SetAsync("short", Bytes("v"), new StateWriteOptions(TimeToLive: Minute));
        await Store.SetAsync("long", Bytes("v"), new StateWriteOptions(TimeToLive: Minute * 10));
        Time.Advance(Minute * 2);
        Assert.That((await Store.GetManyAsync(["short", "long"])).Keys, Is.EquivalentTo(new[] { "long" }));
    }

    /// <summary>An expired entry does not exist.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ExistsAsync_AfterExpiry_ReturnsFalse()
    {
        await Store.SetAsync("k", Bytes("v"), new StateWriteOptions(TimeToLive: Minute));
        Time.Advance(Minute + TimeSpan.FromSeconds(1));
        Assert.That(await Store.ExistsAsync("k"), Is.False);
    }

    /// <summary>An expired entry is not listed.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListKeysAsync_AfterExpiry_OmitsExpired()
    {
        await Store.SetAsync("a", Bytes("v"), new StateWriteOptions(TimeToLive: Minute));
        await Store.SetAsync("b", Bytes("v"));
        Time.Advance(Minute * 2);
        Assert.That(await ListAsync(Store), Is.EqualTo(new[] { "b" }));
    }

    /// <summary>An expired entry counts as missing for conditional writes and deletes.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_ExpectedVersionZeroOnExpiredKey_CreatesAtVersionOne()
    {
        await Store.SetAsync("k", Bytes("v1"), new StateWriteOptions(TimeToLive: Minute));
        await Store.SetAsync("k", Bytes("v2"), new StateWriteOptions(TimeToLive: Minute));
        Time.Advance(Minute * 2);
        Assert.That(await Store.DeleteAsync("k"), Is.False);
        Assert.That(await Store.SetAsync("k", Bytes("fresh"), StateWriteOptions.IfNotExists), Is.EqualTo(1));
        Assert.That((await Store.GetAsync("k"))!.ExpiresAt, Is.Null);
    }

    /// <summary>Touch moves the expiry without rewriting the value or bumping the version.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task TouchAsync_LiveEntry_ExtendsExpiryKeepingVersionAndValue()
    {
        await Store.SetAsync("k", Bytes("v"), new StateWriteOptions(TimeToLive: Minute));
        Time.Advance(TimeSpan.FromSeconds(50));
        Assert.That(await Store.TouchAsync("k", Minute), Is.True);
        Time.Advance(TimeSpan.FromSeconds(50));
        var entry = await Store.GetAsync("k");
        Assert.That(entry, Is.Not.Null, "touch should have extended the expiry");
        Assert.That(entry!.Version, Is.EqualTo(1));
        Assert.That(Text(entry.Value), Is.EqualTo("v"));
        Time.Advance(TimeSpan.FromSeconds(11));
        Assert.That(await Store.GetAsync("k"), Is.Null);
    }

    /// <summary>Touch of a missing or expired entry returns false and does not revive it.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task TouchAsync_MissingOrExpired_ReturnsFalse()
    {
        Assert.That(await Store.TouchAsync("missing", Minute), Is.False);
        await Store.SetAsync("k", Bytes("v"), new StateWriteOptions(TimeToLive: Minute));
        Time.Advance(Minute);
        Assert.That(await Store.TouchAsync("k", Minute), Is.False);
        Assert.That(await Store.GetAsync("k"), Is.Null);
    }

    /// <summary>Touch with an infinite time to live removes the expiry.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task TouchAsync_Infinite_RemovesExpiry()
    {
        await Store.SetAsync("k", Bytes("v"), new StateWriteOptions(TimeToLive: Minute));
        Assert.That(await Store.TouchAsync("k", Timeout.InfiniteTimeSpan), Is.True);
        Time.Advance(TimeSpan.FromDays(365));
        Assert.That((await Store.GetAsync("k"))!.ExpiresAt, Is.Null);
    }

    /// <summary>Each write sets the expiry from its own options: a write without TTL removes an earlier one.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_WithoutTimeToLive_ReplacesEarlierExpiry()
    {
        await Store.SetAsync("k", Bytes("v"), new StateWriteOptions(TimeToLive: Minute));
        await Store.SetAsync("k", Bytes("w"));
        Time.Advance(Minute * 5);
        Assert.That(Text((await Store.GetAsync("k"))!.Value), Is.EqualTo("w"));
    }

    /// <summary>The store's default TTL applies to writes that give none.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_StoreDefaultTimeToLive_AppliesWhenWriteGivesNone()
    {
        var store = await CreateStoreWithOptionsAsync(o => o.DefaultTimeToLive = Minute);
        await store.SetAsync("k", Bytes("v"));
        await store.SetAsync("forever", Bytes("v"), new StateWriteOptions(TimeToLive: Timeout.InfiniteTimeSpan));
        Time.Advance(Minute);
        Assert.That(await store.GetAsync("k"), Is.Null);
        Assert.That(await store.GetAsync("forever"), Is.Not.Null);
    }

    /// <summary>Purge removes expired entries and lists and keeps live ones.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task PurgeExpiredAsync_MixedEntries_RemovesOnlyExpired()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.SetAsync($"old{i}", Bytes("v"), new StateWriteOptions(TimeToLive: Minute));
        }

        await Store.SetAsync("live", Bytes("v"), new StateWriteOptions(TimeToLive: Minute * 10));
        await Store.SetAsync("forever", Bytes("v"));
        await Store.ListAppendAsync("oldlist", [Bytes("x")], Minute);
        Time.Advance(Minute * 2);
        var removed = await Store.PurgeExpiredAsync();
        Assert.That(removed, Is.InRange(0, 6), "a backend that expires on its own may have removed some already");
        Assert.That(await ListAsync(Store), Is.EqualTo(new[] { "forever", "live" }));
        Assert.That(await Store.ListLengthAsync("oldlist"), Is.EqualTo(0));
        Assert.That(await Store.PurgeExpiredAsync(), Is.EqualTo(0));
    }

    /// <summary>A zero or negative time to live is refused.</summary>
    [Test]
    public virtual async Task SetAsync_NonPositiveTimeToLive_ThrowsArgumentOutOfRange()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.SetAsync("k", Bytes("v"), new StateWriteOptions(TimeToLive: TimeSpan.Zero)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.TouchAsync("k", TimeSpan.FromSeconds(-1)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.ListAppendAsync("k", [Bytes("v")], TimeSpan.Zero));
    }
}
