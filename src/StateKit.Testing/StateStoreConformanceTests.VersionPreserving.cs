using NUnit.Framework;
using StateKit.Adapters;

namespace StateKit.Testing;

/// <content>The version-preserving write (<see cref="IVersionPreservingStateStore"/>) that decorators use to move entries.</content>
public abstract partial class StateStoreConformanceTests<TStore>
{
    /// <summary>Gets the store's version-preserving write; the case is inconclusive for a store that does not provide it.</summary>
    private IVersionPreservingStateStore Preserving =>
        Store.GetService<IVersionPreservingStateStore>() ?? throw new InconclusiveException($"The '{Store.Name}' store does not provide IVersionPreservingStateStore.");

    /// <summary>A moved entry keeps its version and expiry, and later writes continue from that version.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAtVersionAsync_MissingKey_KeepsVersionAndExpiry_AndWritesContinueFromIt()
    {
        var expiresAt = Time.GetUtcNow() + Minute;
        Assert.That(await Preserving.SetAtVersionAsync("moved", Bytes("v7"), 7, expiresAt), Is.True);

        var entry = await Store.GetAsync("moved");
        Assert.That(entry!.Version, Is.EqualTo(7));
        Assert.That(Text(entry.Value), Is.EqualTo("v7"));
        Assert.That(entry.ExpiresAt, Is.EqualTo(StateStoreGuard.RoundUpToMillisecond(expiresAt)));
        Assert.That(await Store.SetAsync("moved", Bytes("v8"), new StateWriteOptions(7, StateTimeToLive.KeepCurrent)), Is.EqualTo(8));
        Assert.That((await Store.GetAsync("moved"))!.ExpiresAt, Is.EqualTo(StateStoreGuard.RoundUpToMillisecond(expiresAt)));
        Time.Advance(Minute + TimeSpan.FromSeconds(1));
        Assert.That(await Store.GetAsync("moved"), Is.Null);
    }

    /// <summary>A lower or equal version never replaces what the store holds; a higher one does, and an expired entry counts as missing.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAtVersionAsync_ComparesWithTheLiveVersion()
    {
        await Store.SetAsync("k", Bytes("a"));
        await Store.SetAsync("k", Bytes("b"));
        await Store.SetAsync("k", Bytes("c"));

        Assert.That(await Preserving.SetAtVersionAsync("k", Bytes("older"), 2, null), Is.False);
        Assert.That(await Preserving.SetAtVersionAsync("k", Bytes("same"), 3, null), Is.False);
        Assert.That(Text((await Store.GetAsync("k"))!.Value), Is.EqualTo("c"), "a lower or equal version leaves the entry as it was");
        Assert.That(await Preserving.SetAtVersionAsync("k", Bytes("newer"), 5, null), Is.True);
        var entry = await Store.GetAsync("k");
        Assert.That((entry!.Version, Text(entry.Value), entry.ExpiresAt), Is.EqualTo((5L, "newer", (DateTimeOffset?)null)));

        await Store.SetAsync("gone", Bytes("x"), new StateWriteOptions(TimeToLive: Minute));
        await Store.SetAsync("gone", Bytes("y"), new StateWriteOptions(TimeToLive: Minute));
        Time.Advance(Minute * 2);
        Assert.That(await Preserving.SetAtVersionAsync("gone", Bytes("back"), 1, null), Is.True, "an expired entry counts as missing");
        Assert.That((await Store.GetAsync("gone"))!.Version, Is.EqualTo(1));
    }

    /// <summary>An expiry already past is written as it is: the entry is invisible and the lower version it superseded is gone.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAtVersionAsync_ExpiryAlreadyPast_SupersedesTheLowerVersion()
    {
        await Store.SetAsync("k", Bytes("v1"));
        Assert.That(await Preserving.SetAtVersionAsync("k", Bytes("v4"), 4, Time.GetUtcNow() - Minute), Is.True);
        Assert.That(await Store.GetAsync("k"), Is.Null);
        Assert.That(await Store.ExistsAsync("k"), Is.False);
        Assert.That(await ListAsync(Store), Is.Empty);
    }

    /// <summary>A version-preserving write checks its input like any write.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAtVersionAsync_BadInput_ThrowsAndWritesNothing()
    {
        var preserving = Preserving;
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await preserving.SetAtVersionAsync("k", Bytes("v"), 0, null));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await preserving.SetAtVersionAsync("../k", Bytes("v"), 1, null));
        await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await preserving.SetAtVersionAsync("k", new byte[MaxValueBytes + 1], 1, null));
        Assert.That(await ListAsync(Store), Is.Empty);
    }

    /// <summary>A batch of version-preserving writes keeps each entry's version and expiry, and says which it wrote.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetManyAtVersionAsync_KeepsVersionsAndExpiries_AndReportsEachEntry()
    {
        await Store.SetAsync("held/newer", Bytes("a"));
        await Store.SetAsync("held/newer", Bytes("b"));
        var expiresAt = Time.GetUtcNow() + Minute;
        var written = await Preserving.SetManyAtVersionAsync(
        [
            new StateEntry("batch/a", Bytes("a3"), 3, null),
            new StateEntry("batch/b", Bytes("b9"), 9, expiresAt),
            new StateEntry("held/newer", Bytes("old"), 1, null),
        ]);

        Assert.That(written, Is.EqualTo(new[] { true, true, false }));
        var a = await Store.GetAsync("batch/a");
        var b = await Store.GetAsync("batch/b");
        Assert.That((a!.Version, Text(a.Value), a.ExpiresAt), Is.EqualTo((3L, "a3", (DateTimeOffset?)null)));
        Assert.That((b!.Version, Text(b.Value), b.ExpiresAt), Is.EqualTo((9L, "b9", (DateTimeOffset?)StateStoreGuard.RoundUpToMillisecond(expiresAt))));
        Assert.That(Text((await Store.GetAsync("held/newer"))!.Value), Is.EqualTo("b"), "a lower version leaves the entry as it was");

        var again = await Preserving.SetManyAtVersionAsync([new StateEntry("batch/a", Bytes("a3"), 3, null), new StateEntry("batch/b", Bytes("b9"), 9, expiresAt)]);
        Assert.That(again, Is.EqualTo(new[] { false, false }), "written again: nothing changes");
        Assert.That(await Preserving.SetManyAtVersionAsync([]), Is.Empty);
    }

    /// <summary>A batch checks its input like any write.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetManyAtVersionAsync_BadInput_Throws()
    {
        var preserving = Preserving;
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await preserving.SetManyAtVersionAsync([new StateEntry("../k", Bytes("v"), 1, null)]));
        await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await preserving.SetManyAtVersionAsync([new StateEntry("k", new byte[MaxValueBytes + 1], 1, null)]));
        Assert.That(await ListAsync(Store), Is.Empty);
    }
}
