using System.Text;
using NUnit.Framework;
using StateKit.Tests.Provider;
using StateKit.Tests.Resilience;

namespace StateKit.Tests.Issues;

/// <summary>
/// Write-behind keeps a delete followed by a re-creation inside one flush interval (issue 23, item 1): the store ends with
/// the new life of the key at the versions callers were given, never the old value, on every store and under an L1 tier.
/// </summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class WriteBehindDeleteRecreateTests(string kind) : StoreFixture(kind)
{
    private string _journal = null!;

    [SetUp]
    public void CreateJournal() => _journal = Directory.CreateTempSubdirectory("statekit-wb-recreate-").FullName;

    [TearDown]
    public void DeleteJournal() => Directory.Delete(_journal, recursive: true);

    [Test]
    public async Task DeleteThenCreateAgain_InOneFlush_ReachesTheStoreAsTheNewLife()
    {
        await using var store = WriteBehind(Store);
        for (var i = 1; i <= 4; i++)
        {
            await store.SetAsync("conversation", Bytes("old " + i));
        }

        await store.FlushAsync();
        Assert.That((await Store.GetAsync("conversation"))!.Version, Is.EqualTo(4));

        Assert.That(await store.DeleteAsync("conversation"), Is.True);
        Assert.That(await store.SetAsync("conversation", Bytes("new 1"), StateWriteOptions.IfNotExists), Is.EqualTo(1));
        Assert.That(await store.SetAsync("conversation", Bytes("new 2"), StateWriteOptions.IfVersion(1)), Is.EqualTo(2));
        await store.FlushAsync();

        await AssertAtAsync(Store, "conversation", "new 2", 2, "the store");
        await AssertAtAsync(store, "conversation", "new 2", 2, "the instance");
        Assert.That(store.Conflicts, Is.Zero, "a re-created key is not another writer");
        Assert.That(await store.SetAsync("conversation", Bytes("new 3"), StateWriteOptions.IfVersion(2)), Is.EqualTo(3));
        await store.FlushAsync();
        await AssertAtAsync(Store, "conversation", "new 3", 3, "the store after the next write");
    }

    [Test]
    public async Task SeveralDeletesAndLives_InOneFlush_TheLastLifeWins()
    {
        await using var store = WriteBehind(Store);
        for (var i = 1; i <= 5; i++)
        {
            await store.SetAsync("k", Bytes("first " + i));
        }

        await store.FlushAsync();
        await store.DeleteAsync("k");
        await store.SetAsync("k", Bytes("second 1"));
        await store.DeleteAsync("k");
        Assert.That(await store.GetAsync("k"), Is.Null);
        await store.SetAsync("k", Bytes("third 1"));
        await store.FlushAsync();
        await AssertAtAsync(Store, "k", "third 1", 1, "the store");

        await store.DeleteAsync("k");
        await store.SetAsync("k", Bytes("fourth 1"));
        await store.DeleteAsync("k");
        await store.FlushAsync();
        Assert.That(await Store.GetAsync("k"), Is.Null, "deleted again: a coalesced delete covers every older life");
        Assert.That(store.Conflicts, Is.Zero);
    }

    [Test]
    public async Task DeleteThenCreateAgain_ReplayedAfterACrash_ReachesTheStoreOnce()
    {
        var first = WriteBehind(new NonDisposingStore(Store));
        for (var i = 1; i <= 4; i++)
        {
            await first.SetAsync("session", Bytes("old " + i));
        }

        await first.FlushAsync();
        await first.DeleteAsync("session");
        await first.SetAsync("session", Bytes("new 1"), StateWriteOptions.IfNotExists);
        await first.SetAsync("session", Bytes("new 2"), StateWriteOptions.IfVersion(1));
        await first.FlushAsync(); // flushed, but the journal segment is still there: the replay below writes it again
        await first.DisposeAsync();
        await Store.SetAsync("other", Bytes("x"));

        // A second start replays the same journal when the first died before giving its segment up.
        await using var second = WriteBehind(new NonDisposingStore(Store));
        await second.FlushAsync();
        await AssertAtAsync(Store, "session", "new 2", 2, "the store after the replay");
        Assert.That(second.Conflicts, Is.Zero);
    }

    [Test]
    public async Task ANewLifeFlushedOnce_ThenReplayedWithItsDelete_IsNoConflict()
    {
        var blocking = new WriteBehindStateStoreTests.FlushBlockingStore(new NonDisposingStore(Store));
        var first = WriteBehind(blocking);
        await first.SetAsync("k", Bytes("old 1"));
        await first.SetAsync("k", Bytes("old 2"));
        await first.FlushAsync();
        await first.DeleteAsync("k");
        for (var i = 1; i <= 5; i++)
        {
            await first.SetAsync("k", Bytes("new " + i));
        }

        await first.FlushAsync(); // the store holds the new life at version 5; the journal still holds the delete
        await first.SetAsync("k", Bytes("new 6"));
        blocking.Blocked = true;
        await first.DisposeAsync(); // version 6 stays in the journal, as after a kill

        await using var second = WriteBehind(new NonDisposingStore(Store));
        await second.FlushAsync();
        await AssertAtAsync(Store, "k", "new 6", 6, "the store after the replay");
        Assert.That(second.Conflicts, Is.Zero, "its own earlier flush is not another writer");
    }

    [Test]
    public async Task DeleteThenCreateAgain_OverAFallbackChain_ReachesThePrimaryAndItsCopy()
    {
        // The pipeline's order: write-behind → fallback → backend. The flush's delete and version-preserving write are
        // copied to the fallback like any other write.
        var copy = new MemoryStateStore();
        var chain = new FallbackStateStore([new NonDisposingStore(Store), copy], ownsFallbacks: false);
        await using (var store = WriteBehind(chain))
        {
            for (var i = 1; i <= 3; i++)
            {
                await store.SetAsync("k", Bytes("old " + i));
            }

            await store.FlushAsync();
            await store.DeleteAsync("k");
            await store.SetAsync("k", Bytes("new 1"), StateWriteOptions.IfNotExists);
            await store.FlushAsync();
            Assert.That(store.Conflicts, Is.Zero);
        }

        await AssertAtAsync(Store, "k", "new 1", 1, "the primary");
        await AssertAtAsync(copy, "k", "new 1", 1, "the fallback's copy");
        await copy.DisposeAsync();
    }

    [Test]
    public async Task DeleteThenCreateAgain_UnderL1_IsNeverServedAsTheOldValue()
    {
        await using var l1 = new L1StateStore(WriteBehind(Store), timeProvider: Time);
        for (var i = 1; i <= 4; i++)
        {
            await l1.SetAsync("k", Bytes("old " + i), new StateWriteOptions(i - 1, TimeSpan.FromHours(1)));
        }

        Assert.That((await l1.GetAsync("k"))!.Version, Is.EqualTo(4));
        await l1.GetService<WriteBehindStateStore>()!.FlushAsync();
        await l1.DeleteAsync("k");
        Assert.That(await l1.SetAsync("k", Bytes("new 1"), new StateWriteOptions(0, TimeSpan.FromHours(1))), Is.EqualTo(1));
        Assert.That(await l1.SetAsync("k", Bytes("new 2"), new StateWriteOptions(1, TimeSpan.FromHours(1))), Is.EqualTo(2));
        await l1.GetService<WriteBehindStateStore>()!.FlushAsync();
        await AssertAtAsync(l1, "k", "new 2", 2, "through L1");
        await AssertAtAsync(Store, "k", "new 2", 2, "the store");
    }

    private WriteBehindStateStore WriteBehind(IStateStore inner) =>
        new(inner, new WriteBehindOptions { JournalDirectory = _journal, FlushInterval = TimeSpan.FromMinutes(10), SegmentBytes = 64 * 1024 }, timeProvider: Time);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static async Task AssertAtAsync(IStateStore store, string key, string value, long version, string where)
    {
        var entry = await store.GetAsync(key);
        Assert.That(entry, Is.Not.Null, where + " lost the key");
        Assert.That((Encoding.UTF8.GetString(entry!.Value.Span), entry.Version), Is.EqualTo((value, version)), where);
    }
}
