using NUnit.Framework;

namespace StateKit.Testing;

/// <content>Versioned entries: get, set, conditional writes, delete, batches.</content>
public abstract partial class StateStoreConformanceTests<TStore>
{
    /// <summary>A missing key reads as null.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task GetAsync_MissingKey_ReturnsNull()
    {
        Assert.That(await Store.GetAsync("missing"), Is.Null);
    }

    /// <summary>Versions start at 1 and grow by one per write.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_RepeatedWrites_VersionStartsAtOneAndIncrements()
    {
        Assert.That(await Store.SetAsync("k", Bytes("a")), Is.EqualTo(1));
        Assert.That(await Store.SetAsync("k", Bytes("b")), Is.EqualTo(2));
        Assert.That(await Store.SetAsync("k", Bytes("c")), Is.EqualTo(3));
        var entry = await Store.GetAsync("k");
        Assert.That(entry!.Version, Is.EqualTo(3));
        Assert.That(Text(entry.Value), Is.EqualTo("c"));
    }

    /// <summary>A read returns the key, the value, the version and no expiry.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task GetAsync_AfterSet_ReturnsKeyValueVersionAndNoExpiry()
    {
        await Store.SetAsync("user:1/profile", Bytes("{\"name\":\"Ada\"}"));
        var entry = await Store.GetAsync("user:1/profile");
        Assert.That(entry, Is.Not.Null);
        Assert.That(entry!.Key, Is.EqualTo("user:1/profile"));
        Assert.That(Text(entry.Value), Is.EqualTo("{\"name\":\"Ada\"}"));
        Assert.That(entry.Version, Is.EqualTo(1));
        Assert.That(entry.ExpiresAt, Is.Null);
    }

    /// <summary>An empty value is stored and read back as empty, not as missing.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_EmptyValue_RoundTripsAsEmpty()
    {
        await Store.SetAsync("empty", ReadOnlyMemory<byte>.Empty);
        var entry = await Store.GetAsync("empty");
        Assert.That(entry, Is.Not.Null);
        Assert.That(entry!.Value.Length, Is.EqualTo(0));
    }

    /// <summary>Every byte value survives the round trip.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_AllByteValues_RoundTripExactly()
    {
        var value = Enumerable.Range(0, 256).Select(i => (byte)i).Concat(Enumerable.Range(0, 256).Select(i => (byte)(255 - i))).ToArray();
        await Store.SetAsync("binary", value);
        Assert.That((await Store.GetAsync("binary"))!.Value.ToArray(), Is.EqualTo(value));
    }

    /// <summary>The store keeps its own copy of the value.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_CallerChangesBufferAfterWrite_StoredValueUnchanged()
    {
        var buffer = Bytes("original");
        await Store.SetAsync("copy", buffer);
        buffer[0] = (byte)'X';
        Assert.That(Text((await Store.GetAsync("copy"))!.Value), Is.EqualTo("original"));
    }

    /// <summary>Expected version 0 creates a missing key.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_ExpectedVersionZeroOnMissingKey_Creates()
    {
        Assert.That(await Store.SetAsync("new", Bytes("v"), StateWriteOptions.IfNotExists), Is.EqualTo(1));
        Assert.That(await Store.ExistsAsync("new"), Is.True);
    }

    /// <summary>Expected version 0 on an existing key conflicts, reports the current version and writes nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_ExpectedVersionZeroOnExistingKey_ThrowsConflictAndWritesNothing()
    {
        await Store.SetAsync("k", Bytes("one"));
        await Store.SetAsync("k", Bytes("two"));
        var ex = await Assert.ThrowsAsync<StateConflictException>(async () => await Store.SetAsync("k", Bytes("three"), StateWriteOptions.IfNotExists));
        Assert.That(ex!.CurrentVersion, Is.EqualTo(2));
        Assert.That(ex.ExpectedVersion, Is.EqualTo(0));
        Assert.That(ex.Key, Is.EqualTo("k"));
        Assert.That(ex.StoreName, Is.EqualTo(Store.Name));
        var entry = await Store.GetAsync("k");
        Assert.That(Text(entry!.Value), Is.EqualTo("two"));
        Assert.That(entry.Version, Is.EqualTo(2));
    }

    /// <summary>A stale expected version conflicts with the current version and writes nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_StaleExpectedVersion_ThrowsConflictAndWritesNothing()
    {
        await Store.SetAsync("k", Bytes("one"));
        await Store.SetAsync("k", Bytes("two"));
        var ex = await Assert.ThrowsAsync<StateConflictException>(async () => await Store.SetAsync("k", Bytes("stale"), StateWriteOptions.IfVersion(1)));
        Assert.That(ex!.CurrentVersion, Is.EqualTo(2));
        Assert.That(ex.ExpectedVersion, Is.EqualTo(1));
        Assert.That(ex.Message, Does.Contain("'k'").And.Contain(Store.Name));
        var entry = await Store.GetAsync("k");
        Assert.That(Text(entry!.Value), Is.EqualTo("two"));
        Assert.That(entry.Version, Is.EqualTo(2));
    }

    /// <summary>A matching expected version writes and bumps the version.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_MatchingExpectedVersion_WritesNextVersion()
    {
        await Store.SetAsync("k", Bytes("one"));
        Assert.That(await Store.SetAsync("k", Bytes("two"), StateWriteOptions.IfVersion(1)), Is.EqualTo(2));
        Assert.That(Text((await Store.GetAsync("k"))!.Value), Is.EqualTo("two"));
    }

    /// <summary>Expecting a version of a missing key conflicts with current version 0.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_ExpectedVersionOnMissingKey_ThrowsConflictWithCurrentZero()
    {
        var ex = await Assert.ThrowsAsync<StateConflictException>(async () => await Store.SetAsync("nope", Bytes("v"), StateWriteOptions.IfVersion(3)));
        Assert.That(ex!.CurrentVersion, Is.EqualTo(0));
        Assert.That(await Store.ExistsAsync("nope"), Is.False);
    }

    /// <summary>A negative expected version is an argument error.</summary>
    [Test]
    public virtual async Task SetAsync_NegativeExpectedVersion_ThrowsArgumentOutOfRange()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.SetAsync("k", Bytes("v"), StateWriteOptions.IfVersion(-1)));
    }

    /// <summary>Delete removes a live entry and says so.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task DeleteAsync_ExistingKey_ReturnsTrueAndRemoves()
    {
        await Store.SetAsync("k", Bytes("v"));
        Assert.That(await Store.DeleteAsync("k"), Is.True);
        Assert.That(await Store.GetAsync("k"), Is.Null);
        Assert.That(await Store.ExistsAsync("k"), Is.False);
    }

    /// <summary>Deleting a missing key returns false.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task DeleteAsync_MissingKey_ReturnsFalse()
    {
        Assert.That(await Store.DeleteAsync("missing"), Is.False);
    }

    /// <summary>A conditional delete at the current version deletes.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task DeleteAsync_MatchingVersion_Deletes()
    {
        await Store.SetAsync("k", Bytes("v"));
        await Store.SetAsync("k", Bytes("w"));
        Assert.That(await Store.DeleteAsync("k", expectedVersion: 2), Is.True);
        Assert.That(await Store.ExistsAsync("k"), Is.False);
    }

    /// <summary>A conditional delete at a stale version conflicts and keeps the entry.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task DeleteAsync_StaleVersion_ThrowsConflictAndKeepsEntry()
    {
        await Store.SetAsync("k", Bytes("v"));
        await Store.SetAsync("k", Bytes("w"));
        var ex = await Assert.ThrowsAsync<StateConflictException>(async () => await Store.DeleteAsync("k", expectedVersion: 1));
        Assert.That(ex!.CurrentVersion, Is.EqualTo(2));
        Assert.That(Text((await Store.GetAsync("k"))!.Value), Is.EqualTo("w"));
    }

    /// <summary>A key created again after a delete starts at version 1.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_AfterDelete_VersionRestartsAtOne()
    {
        await Store.SetAsync("k", Bytes("v"));
        await Store.SetAsync("k", Bytes("w"));
        await Store.DeleteAsync("k");
        Assert.That(await Store.SetAsync("k", Bytes("x"), StateWriteOptions.IfNotExists), Is.EqualTo(1));
    }

    /// <summary>Batch get returns only the keys that exist.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task GetManyAsync_MixedKeys_ReturnsOnlyExisting()
    {
        await Store.SetAsync("a", Bytes("1"));
        await Store.SetAsync("c", Bytes("3"));
        var result = await Store.GetManyAsync(["a", "b", "c"]);
        Assert.That(result.Keys, Is.EquivalentTo(new[] { "a", "c" }));
        Assert.That(Text(result["c"].Value), Is.EqualTo("3"));
        Assert.That(result["a"].Version, Is.EqualTo(1));
        Assert.That(await Store.GetManyAsync(Array.Empty<string>()), Is.Empty);
    }

    /// <summary>Batch set writes every entry and returns each new version in order.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetManyAsync_SeveralWrites_WritesAllAndReturnsVersions()
    {
        await Store.SetAsync("batch/1/b", Bytes("old"));
        var versions = await Store.SetManyAsync([new("batch/1/a", Bytes("1")), new("batch/1/b", Bytes("2")), new("batch/1/c", Bytes("3"), StateWriteOptions.IfNotExists)]);
        Assert.That(versions, Is.EqualTo(new long[] { 1, 2, 1 }));
        var all = await Store.GetManyAsync(["batch/1/a", "batch/1/b", "batch/1/c"]);
        Assert.That(all.Values.Select(e => Text(e.Value)), Is.EquivalentTo(new[] { "1", "2", "3" }));
    }

    /// <summary>A batch with one invalid key writes nothing at all.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetManyAsync_OneInvalidKey_WritesNothing()
    {
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await Store.SetManyAsync([new("good", Bytes("1")), new("../bad", Bytes("2"))]));
        Assert.That(await Store.ExistsAsync("good"), Is.False);
    }

    /// <summary>A batch with one oversized value writes nothing at all.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetManyAsync_OneOversizedValue_WritesNothing()
    {
        await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await Store.SetManyAsync([new("good", Bytes("1")), new("big", new byte[MaxValueBytes + 1])]));
        Assert.That(await Store.ExistsAsync("good"), Is.False);
        Assert.That(await Store.ExistsAsync("big"), Is.False);
    }

    /// <summary>A conflicting write of a batch is reported by key and is not applied.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetManyAsync_ConflictingWrite_ThrowsNamingKeyAndLeavesItUnchanged()
    {
        await Store.SetAsync("taken", Bytes("keep"));
        var ex = await Assert.ThrowsAsync<StateConflictException>(async () => await Store.SetManyAsync([new("taken", Bytes("lost"), StateWriteOptions.IfNotExists)]));
        Assert.That(ex!.Key, Is.EqualTo("taken"));
        Assert.That(Text((await Store.GetAsync("taken"))!.Value), Is.EqualTo("keep"));
    }

    /// <summary>A value over the maximum is refused before anything is written; an earlier value stays.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_OversizedValue_ThrowsAndStoresNothing()
    {
        await Store.SetAsync("k", Bytes("small"));
        var ex = await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await Store.SetAsync("k", new byte[MaxValueBytes + 1]));
        Assert.That(ex!.Size, Is.EqualTo(MaxValueBytes + 1));
        Assert.That(ex.MaxSize, Is.EqualTo(MaxValueBytes));
        Assert.That(ex.Message, Does.Contain("'k'"));
        var entry = await Store.GetAsync("k");
        Assert.That(Text(entry!.Value), Is.EqualTo("small"));
        Assert.That(entry.Version, Is.EqualTo(1));
        await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await Store.SetAsync("other", new byte[MaxValueBytes + 1]));
        Assert.That(await Store.ExistsAsync("other"), Is.False);
    }

    /// <summary>A value of exactly the maximum size is accepted.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_ValueAtMaximumSize_IsStored()
    {
        var value = new byte[MaxValueBytes];
        value[^1] = 42;
        await Store.SetAsync("max", value);
        Assert.That((await Store.GetAsync("max"))!.Value.ToArray(), Is.EqualTo(value));
    }
}
