using NUnit.Framework;

namespace StateKit.Testing;

/// <content>Append-only lists.</content>
public abstract partial class StateStoreConformanceTests<TStore>
{
    /// <summary>Append returns the new length each time.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListAppendAsync_RepeatedAppends_ReturnsNewLength()
    {
        Assert.That(await AppendAsync(Store, "chat", "m1"), Is.EqualTo(1));
        Assert.That(await AppendAsync(Store, "chat", "m2", "m3"), Is.EqualTo(3));
        Assert.That(await Store.ListLengthAsync("chat"), Is.EqualTo(3));
    }

    /// <summary>A full range returns every item in append order.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListRangeAsync_FullRange_ReturnsItemsInOrder()
    {
        await AppendAsync(Store, "chat", "a", "b");
        await AppendAsync(Store, "chat", "c");
        Assert.That(await RangeAsync(Store, "chat"), Is.EqualTo(new[] { "a", "b", "c" }));
    }

    /// <summary>Ranges follow Redis LRANGE: negative indices count from the end, out-of-range ends are clamped.</summary>
    /// <param name="start">The start index.</param>
    /// <param name="stop">The stop index.</param>
    /// <param name="expected">The expected items, comma-separated.</param>
    /// <returns>A task.</returns>
    [TestCase(0, 0, "m0")]
    [TestCase(-2, -1, "m3,m4")]
    [TestCase(-20, -1, "m0,m1,m2,m3,m4")]
    [TestCase(1, 3, "m1,m2,m3")]
    [TestCase(3, 100, "m3,m4")]
    [TestCase(-1, -1, "m4")]
    [TestCase(2, -2, "m2,m3")]
    [TestCase(4, 1, "")]
    [TestCase(5, 10, "")]
    [TestCase(-100, -6, "")]
    public virtual async Task ListRangeAsync_RedisStyleIndices_ReturnsExpectedSlice(long start, long stop, string expected)
    {
        await AppendAsync(Store, "chat", "m0", "m1", "m2", "m3", "m4");
        var expectedItems = expected.Length == 0 ? Array.Empty<string>() : expected.Split(',');
        Assert.That(await RangeAsync(Store, "chat", start, stop), Is.EqualTo(expectedItems));
    }

    /// <summary>A missing list has length 0 and an empty range.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListLengthAsync_MissingList_ReturnsZeroAndEmptyRange()
    {
        Assert.That(await Store.ListLengthAsync("none"), Is.EqualTo(0));
        Assert.That(await Store.ListRangeAsync("none", -20, -1), Is.Empty);
    }

    /// <summary>Trim to the last N keeps exactly those items.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListTrimAsync_KeepLastTwo_KeepsTheLastTwo()
    {
        await AppendAsync(Store, "chat", "a", "b", "c", "d");
        Assert.That(await Store.ListTrimAsync("chat", -2, -1), Is.EqualTo(2));
        Assert.That(await RangeAsync(Store, "chat"), Is.EqualTo(new[] { "c", "d" }));
        Assert.That(await AppendAsync(Store, "chat", "e"), Is.EqualTo(3));
        Assert.That(await RangeAsync(Store, "chat"), Is.EqualTo(new[] { "c", "d", "e" }));
    }

    /// <summary>A trim that keeps nothing deletes the list.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListTrimAsync_EmptyRange_DeletesList()
    {
        await AppendAsync(Store, "chat", "a", "b");
        Assert.That(await Store.ListTrimAsync("chat", 5, 10), Is.EqualTo(0));
        Assert.That(await Store.ListLengthAsync("chat"), Is.EqualTo(0));
        Assert.That(await AppendAsync(Store, "chat", "new"), Is.EqualTo(1));
    }

    /// <summary>Delete removes a list and reports whether one existed.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListDeleteAsync_ExistingAndMissing_ReportsAndRemoves()
    {
        await AppendAsync(Store, "chat", "a");
        Assert.That(await Store.ListDeleteAsync("chat"), Is.True);
        Assert.That(await Store.ListDeleteAsync("chat"), Is.False);
        Assert.That(await Store.ListLengthAsync("chat"), Is.EqualTo(0));
    }

    /// <summary>An expired list is invisible to range and length before any purge, and an append starts it afresh.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListRangeAsync_AfterExpiry_EmptyBeforePurgeAndAppendStartsFresh()
    {
        await Store.ListAppendAsync("chat", [Bytes("a"), Bytes("b")], TimeSpan.FromMinutes(1));
        Time.Advance(TimeSpan.FromMinutes(1));
        Assert.That(await Store.ListRangeAsync("chat"), Is.Empty);
        Assert.That(await Store.ListLengthAsync("chat"), Is.EqualTo(0));
        Assert.That(await AppendAsync(Store, "chat", "c"), Is.EqualTo(1));
        Assert.That(await RangeAsync(Store, "chat"), Is.EqualTo(new[] { "c" }));
    }

    /// <summary>Touch extends a list's life; touching a missing list returns false.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListTouchAsync_LiveList_ExtendsExpiry()
    {
        await Store.ListAppendAsync("chat", [Bytes("a")], TimeSpan.FromMinutes(1));
        Time.Advance(TimeSpan.FromSeconds(50));
        Assert.That(await Store.ListTouchAsync("chat", TimeSpan.FromMinutes(1)), Is.True);
        Time.Advance(TimeSpan.FromSeconds(50));
        Assert.That(await RangeAsync(Store, "chat"), Is.EqualTo(new[] { "a" }));
        Assert.That(await Store.ListTouchAsync("missing", TimeSpan.FromMinutes(1)), Is.False);
    }

    /// <summary>A list and an entry with the same key are independent.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListAndEntry_SameKey_AreIndependent()
    {
        await Store.SetAsync("same", Bytes("entry"));
        await AppendAsync(Store, "same", "item");
        await Store.DeleteAsync("same");
        Assert.That(await RangeAsync(Store, "same"), Is.EqualTo(new[] { "item" }));
        await Store.SetAsync("same", Bytes("entry2"));
        await Store.ListDeleteAsync("same");
        Assert.That(Text((await Store.GetAsync("same"))!.Value), Is.EqualTo("entry2"));
    }

    /// <summary>An oversized list item is refused and nothing is appended.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListAppendAsync_OversizedItem_ThrowsAndAppendsNothing()
    {
        await AppendAsync(Store, "chat", "a");
        await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await Store.ListAppendAsync("chat", [Bytes("b"), new byte[MaxValueBytes + 1]]));
        Assert.That(await RangeAsync(Store, "chat"), Is.EqualTo(new[] { "a" }));
    }

    /// <summary>Binary items, empty items included, survive exactly.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListAppendAsync_BinaryAndEmptyItems_RoundTripExactly()
    {
        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        await Store.ListAppendAsync("bin", [binary, ReadOnlyMemory<byte>.Empty, new byte[] { 0, 0, 0 }]);
        var items = await Store.ListRangeAsync("bin");
        Assert.That(items.Count, Is.EqualTo(3));
        Assert.That(items[0].ToArray(), Is.EqualTo(binary));
        Assert.That(items[1].Length, Is.EqualTo(0));
        Assert.That(items[2].ToArray(), Is.EqualTo(new byte[] { 0, 0, 0 }));
    }

    /// <summary>Appending no items changes nothing and does not create the list.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListAppendAsync_NoItems_ReturnsCurrentLengthAndCreatesNothing()
    {
        Assert.That(await Store.ListAppendAsync("none", Array.Empty<ReadOnlyMemory<byte>>()), Is.EqualTo(0));
        Assert.That(await Store.ListRangeAsync("none"), Is.Empty);
        await AppendAsync(Store, "some", "a");
        Assert.That(await Store.ListAppendAsync("some", Array.Empty<ReadOnlyMemory<byte>>()), Is.EqualTo(1));
    }
}
