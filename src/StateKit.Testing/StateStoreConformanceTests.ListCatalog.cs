using NUnit.Framework;
using StateKit.Adapters;

namespace StateKit.Testing;

/// <content>The list catalog (<see cref="IStateListCatalog"/>) that tools use to find every list of a store.</content>
public abstract partial class StateStoreConformanceTests<TStore>
{
    /// <summary>Gets the store's list catalog; the case is inconclusive for a store that does not provide it.</summary>
    private IStateListCatalog Catalog =>
        Store.GetService<IStateListCatalog>() ?? throw new InconclusiveException($"The '{Store.Name}' store does not provide IStateListCatalog.");

    /// <summary>Reads a catalog listing, sorted by key.</summary>
    /// <param name="catalog">The catalog.</param>
    /// <param name="prefix">The prefix.</param>
    /// <returns>The lists.</returns>
    protected static async Task<List<StateListInfo>> ListListsAsync(IStateListCatalog catalog, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var lists = new List<StateListInfo>();
        await foreach (var list in catalog.ListListsAsync(prefix).ConfigureAwait(false))
        {
            lists.Add(list);
        }

        lists.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return lists;
    }

    /// <summary>The catalog names the live lists under a prefix with their expiry, and no entries.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListListsAsync_Prefix_NamesLiveListsWithTheirExpiry()
    {
        var expiresAt = StateStoreGuard.RoundUpToMillisecond(Time.GetUtcNow() + Minute);
        await AppendAsync(Store, "chat/a", "m1", "m2");
        await Store.ListAppendAsync("chat/b", [Bytes("m1")], Minute);
        await AppendAsync(Store, "other/c", "m1");
        await Store.SetAsync("chat/entry", Bytes("v"));

        var lists = await ListListsAsync(Catalog, "chat/");
        Assert.That(lists, Is.EqualTo(new[] { new StateListInfo("chat/a", null), new StateListInfo("chat/b", expiresAt) }));
        Assert.That((await ListListsAsync(Catalog)).Select(l => l.Key), Is.EqualTo(new[] { "chat/a", "chat/b", "other/c" }));
    }

    /// <summary>Expired, deleted and emptied lists are not named; a list's new expiry is.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListListsAsync_ExpiredDeletedOrEmptied_AreNotNamed()
    {
        await Store.ListAppendAsync("short", [Bytes("x")], Minute);
        await AppendAsync(Store, "deleted", "x");
        await AppendAsync(Store, "trimmed", "x", "y");
        await AppendAsync(Store, "touched", "x");
        await Store.ListDeleteAsync("deleted");
        await Store.ListTrimAsync("trimmed", 5, 10);
        Assert.That(await Store.ListTouchAsync("touched", Minute * 10), Is.True);
        var touchedUntil = StateStoreGuard.RoundUpToMillisecond(Time.GetUtcNow() + (Minute * 10));
        Time.Advance(Minute * 2);

        Assert.That(await ListListsAsync(Catalog), Is.EqualTo(new[] { new StateListInfo("touched", touchedUntil) }));
    }

    /// <summary>Many lists are named once each, and another prefix's lists never.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListListsAsync_ManyLists_EachOnce_AndPrefixesIsolated()
    {
        var other = await CreateStoreWithPrefixAsync(TestPrefix + "-other");
        await AppendAsync(other, "log/theirs", "x");
        var keys = Enumerable.Range(0, 120).Select(i => $"log/{i:D4}").ToArray();
        foreach (var key in keys)
        {
            await AppendAsync(Store, key, "x"); // one by one: on a sharded store these are 120 shards
        }

        Assert.That((await ListListsAsync(Catalog, "log/")).Select(l => l.Key), Is.EqualTo(keys));
        Assert.That((await ListListsAsync(other.GetService<IStateListCatalog>()!)).Select(l => l.Key), Is.EqualTo(new[] { "log/theirs" }));
    }

    /// <summary>A prefix with a character keys may not have is refused.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListListsAsync_BadPrefix_ThrowsInvalidKey()
    {
        var catalog = Catalog;
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await ListListsAsync(catalog, "bad\u0001"));
    }
}
