using NUnit.Framework;

namespace StateKit.Testing;

/// <content>Key validation, prefix listing and namespace isolation.</content>
public abstract partial class StateStoreConformanceTests<TStore>
{
    /// <summary>Keys every store must refuse.</summary>
    /// <returns>The keys with a name for each case.</returns>
    public static IEnumerable<TestCaseData> InvalidKeys()
    {
        yield return new TestCaseData(string.Empty).SetArgDisplayNames("empty");
        yield return new TestCaseData("../x").SetArgDisplayNames("parent-traversal");
        yield return new TestCaseData("a/../../etc/passwd").SetArgDisplayNames("nested-traversal");
        yield return new TestCaseData("./x").SetArgDisplayNames("current-dir-segment");
        yield return new TestCaseData("..").SetArgDisplayNames("dot-dot");
        yield return new TestCaseData("a\\b").SetArgDisplayNames("backslash");
        yield return new TestCaseData("nul\0byte").SetArgDisplayNames("nul-character");
        yield return new TestCaseData("line\nfeed").SetArgDisplayNames("newline");
        yield return new TestCaseData("bell\u0007").SetArgDisplayNames("control-character");
        yield return new TestCaseData("bad\uD800surrogate").SetArgDisplayNames("unpaired-surrogate");
        yield return new TestCaseData(new string('k', 513)).SetArgDisplayNames("too-long");
    }

    /// <summary>Invalid keys are refused with <see cref="InvalidStateKeyException"/> and nothing is written.</summary>
    /// <param name="key">The key.</param>
    /// <returns>A task.</returns>
    [TestCaseSource(nameof(InvalidKeys))]
    public virtual async Task SetAsync_InvalidKey_ThrowsInvalidKeyAndWritesNothing(string key)
    {
        var ex = await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.SetAsync(key, Bytes("v")));
        Assert.That(ex!.StoreName, Is.EqualTo(Store.Name));
        Assert.That(ex.Message, Does.Contain("invalid key"));
        Assert.That(await ListAsync(Store), Is.Empty);
    }

    /// <summary>Every operation that takes a key validates it.</summary>
    [Test]
    public virtual async Task AllOperations_TraversalKey_ThrowInvalidKey()
    {
        const string key = "../escape";
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.GetAsync(key));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.GetManyAsync([key]));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.DeleteAsync(key));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.ExistsAsync(key));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.TouchAsync(key, TimeSpan.FromMinutes(1)));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.ListAppendAsync(key, [Bytes("v")]));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.ListRangeAsync(key));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.ListLengthAsync(key));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.ListTrimAsync(key, 0, 1));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.ListDeleteAsync(key));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.ListTouchAsync(key, TimeSpan.FromMinutes(1)));
    }

    /// <summary>Unusual but valid keys round-trip, list back exactly, and stay distinct from look-alikes.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_UnusualValidKeys_RoundTripAndStayDistinct()
    {
        string[] keys =
        [
            "Key", "key", "KEY", "a/b/c", "a%2Fb", "a/b%2Fc", "with space", "colon:and;semi", "dots.in.name", ".hidden", "...",
            "CON", "nul", "émoji-🙂", "日本語", "percent%", "%41", "A", "a", "trailing/", "/leading", "x" + new string('y', 511),
        ];
        for (var i = 0; i < keys.Length; i++)
        {
            await Store.SetAsync(keys[i], Bytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        for (var i = 0; i < keys.Length; i++)
        {
            var entry = await Store.GetAsync(keys[i]);
            Assert.That(entry, Is.Not.Null, keys[i]);
            Assert.That(Text(entry!.Value), Is.EqualTo(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), $"key '{keys[i]}' read another key's value");
            Assert.That(entry.Version, Is.EqualTo(1), keys[i]);
        }

        Assert.That(await ListAsync(Store), Is.EqualTo(keys.OrderBy(k => k, StringComparer.Ordinal).ToArray()));
    }

    /// <summary>Listing returns exactly the live keys that start with the prefix.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListKeysAsync_Prefix_ReturnsOnlyMatchingKeys()
    {
        foreach (var key in new[] { "session:1", "session:2", "session:10", "sess", "user:1", "Session:3" })
        {
            await Store.SetAsync(key, Bytes("v"));
        }

        Assert.That(await ListAsync(Store, "session:"), Is.EqualTo(new[] { "session:1", "session:10", "session:2" }));
        Assert.That(await ListAsync(Store, "session:1"), Is.EqualTo(new[] { "session:1", "session:10" }));
        Assert.That(await ListAsync(Store, "nothing"), Is.Empty);
        Assert.That(await ListAsync(Store), Has.Count.EqualTo(6));
    }

    /// <summary>Deleted keys are not listed; lists are not listed as entries.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListKeysAsync_AfterDeleteAndListAppend_ListsOnlyLiveEntries()
    {
        await Store.SetAsync("a", Bytes("v"));
        await Store.SetAsync("b", Bytes("v"));
        await Store.DeleteAsync("a");
        await AppendAsync(Store, "history", "m1");
        Assert.That(await ListAsync(Store), Is.EqualTo(new[] { "b" }));
    }

    /// <summary>Listing many keys streams every one exactly once.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListKeysAsync_ManyKeys_StreamsEachOnce()
    {
        var writes = Enumerable.Range(0, 300).Select(i => new StateWrite($"item/{i:D4}", Bytes("v"))).ToArray();
        foreach (var write in writes)
        {
            await Store.SetAsync(write.Key, write.Value); // one by one: on a sharded store these are 300 shards
        }
        var listed = await ListAsync(Store, "item/");
        Assert.That(listed, Is.EqualTo(writes.Select(w => w.Key).ToArray()));
    }

    /// <summary>Two stores with different prefixes on the same backing never see each other's entries or lists.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task KeyPrefix_TwoNamespaces_AreIsolated()
    {
        var other = await CreateStoreWithPrefixAsync(TestPrefix + "-other");
        await Store.SetAsync("shared-name", Bytes("mine"));
        await other.SetAsync("shared-name", Bytes("theirs"));
        await other.SetAsync("only-theirs", Bytes("x"));
        await AppendAsync(Store, "list", "mine");
        await AppendAsync(other, "list", "theirs1", "theirs2");

        Assert.That(Text((await Store.GetAsync("shared-name"))!.Value), Is.EqualTo("mine"));
        Assert.That(Text((await other.GetAsync("shared-name"))!.Value), Is.EqualTo("theirs"));
        Assert.That(await Store.ExistsAsync("only-theirs"), Is.False);
        Assert.That(await ListAsync(Store), Is.EqualTo(new[] { "shared-name" }));
        Assert.That(await RangeAsync(Store, "list"), Is.EqualTo(new[] { "mine" }));
        Assert.That(await other.ListLengthAsync("list"), Is.EqualTo(2));
        await Store.DeleteAsync("shared-name");
        Assert.That(await other.ExistsAsync("shared-name"), Is.True);
    }

    /// <summary>A prefix that is a string prefix of another (<c>app</c> and <c>app:x</c>) still isolates.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task KeyPrefix_OnePrefixStartsWithTheOther_AreIsolated()
    {
        var longer = await CreateStoreWithPrefixAsync(TestPrefix + ":x");
        await longer.SetAsync("key", Bytes("longer"));
        await Store.SetAsync(":xkey", Bytes("shorter"));
        Assert.That(await ListAsync(Store), Is.EqualTo(new[] { ":xkey" }));
        Assert.That(await ListAsync(longer), Is.EqualTo(new[] { "key" }));
        Assert.That(Text((await longer.GetAsync("key"))!.Value), Is.EqualTo("longer"));
        Assert.That(await Store.GetAsync("key"), Is.Null);
    }

    /// <summary>An invalid key prefix is refused when the store is created.</summary>
    [Test]
    public virtual async Task KeyPrefix_Invalid_IsRefusedAtCreation()
    {
        Assert.That(
            async () => await CreateStoreWithPrefixAsync("../escape"),
            Throws.InstanceOf<InvalidStateKeyException>().Or.InstanceOf<ArgumentException>());
    }
}
