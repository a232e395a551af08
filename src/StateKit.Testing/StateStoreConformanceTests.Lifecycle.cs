using NUnit.Framework;

namespace StateKit.Testing;

/// <content>Batch semantics, disposal, cancellation and edge cases of expiry and list indices.</content>
public abstract partial class StateStoreConformanceTests<TStore>
{
    /// <summary>
    /// The capability lookup finds the adapter through any decorators, answers for the outermost store when asked for
    /// <see cref="IStateStore"/>, and answers nothing for a type no store of the pipeline is or a key it does not know.
    /// </summary>
    [Test]
    public virtual void GetService_FindsTheAdapterThroughThePipeline()
    {
        Assert.That(Store.GetService<IStateStore>(), Is.SameAs(Store));
        var adapter = Store.GetService(typeof(TStore));
        Assert.That(adapter, Is.InstanceOf<TStore>());
        Assert.That(Store.GetService(typeof(Uri)), Is.Null);
        Assert.That(Store.GetService(typeof(IStateStore), serviceKey: "no such key"), Is.Null);
        Assert.That(Store.GetCapabilities(), Is.EqualTo(((IStateStore)adapter!).GetCapabilities()), "a pass-through keeps the adapter's declared capabilities");
        Assert.Throws<ArgumentNullException>(() => Store.GetService(null!));
    }

    /// <summary>A conflict anywhere in a batch writes nothing of it: every condition is checked before any write.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetManyAsync_ConflictAfterOtherWrites_WritesNothing()
    {
        await Store.SetAsync("batch/1/taken", Bytes("old"));
        var ex = await Assert.ThrowsAsync<StateConflictException>(async () => await Store.SetManyAsync(
        [
            new StateWrite("batch/1/first", Bytes("1")),
            new StateWrite("batch/1/second", Bytes("2"), StateWriteOptions.IfNotExists),
            new StateWrite("batch/1/taken", Bytes("new"), StateWriteOptions.IfNotExists),
            new StateWrite("batch/1/last", Bytes("3")),
        ]));
        Assert.That(ex!.Key, Is.EqualTo("batch/1/taken"));
        Assert.That(ex.CurrentVersion, Is.EqualTo(1));
        Assert.That(await ListAsync(Store), Is.EqualTo(new[] { "batch/1/taken" }));
        Assert.That(Text((await Store.GetAsync("batch/1/taken"))!.Value), Is.EqualTo("old"));
    }

    /// <summary>A key written twice in one batch gets consecutive versions, and the second write sees the first.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetManyAsync_SameKeyTwice_SecondWriteSeesTheFirst()
    {
        Assert.That(await Store.SetManyAsync([new StateWrite("k", Bytes("1")), new StateWrite("k", Bytes("2"))]), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(Text((await Store.GetAsync("k"))!.Value), Is.EqualTo("2"));
        Assert.That(await Store.SetManyAsync([new StateWrite("n", Bytes("a"), StateWriteOptions.IfNotExists), new StateWrite("n", Bytes("b"), StateWriteOptions.IfVersion(1))]), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That((await Store.GetAsync("n"))!.Version, Is.EqualTo(2));
        await Assert.ThrowsAsync<StateConflictException>(async () => await Store.SetManyAsync([new StateWrite("m", Bytes("a")), new StateWrite("m", Bytes("b"), StateWriteOptions.IfNotExists)]));
        Assert.That(await Store.GetAsync("m"), Is.Null);
    }

    /// <summary>A key written twice in one batch ends with the expiry of its last write, whichever way round.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetManyAsync_SameKeyTwice_LastWriteDecidesTheExpiry()
    {
        await Store.SetManyAsync([new StateWrite("k", Bytes("first"), new StateWriteOptions(TimeToLive: TimeSpan.FromHours(1))), new StateWrite("k", Bytes("second"))]);
        var noExpiry = await Store.GetAsync("k");
        Assert.That(noExpiry!.ExpiresAt, Is.Null);
        Assert.That(Text(noExpiry.Value), Is.EqualTo("second"));

        await Store.SetManyAsync([new StateWrite("j", Bytes("first")), new StateWrite("j", Bytes("second"), new StateWriteOptions(TimeToLive: TimeSpan.FromHours(1)))]);
        Assert.That((await Store.GetAsync("j"))!.ExpiresAt, Is.EqualTo(Time.GetUtcNow() + TimeSpan.FromHours(1)));

        Time.Advance(TimeSpan.FromHours(2));
        Assert.That(await Store.GetAsync("k"), Is.Not.Null);
        Assert.That(await Store.GetAsync("j"), Is.Null);
    }

    /// <summary>Every operation on a disposed store throws <see cref="ObjectDisposedException"/>; disposing twice is harmless.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task AllOperations_AfterDispose_ThrowObjectDisposed()
    {
        var store = await CreateStoreWithPrefixAsync(TestPrefix + "d");
        await store.SetAsync("k", Bytes("v"));
        await store.DisposeAsync();
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.GetAsync("k"));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.GetManyAsync(["k"]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.SetAsync("k", Bytes("late")));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.SetManyAsync([new StateWrite("k", Bytes("late"))]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.SetManyAsync([]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.DeleteAsync("k"));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.ExistsAsync("k"));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.TouchAsync("k", TimeSpan.FromMinutes(1)));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await ListAsync(store));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.PurgeExpiredAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.ListAppendAsync("l", [Bytes("late")]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.ListRangeAsync("l"));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.ListLengthAsync("l"));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.ListTrimAsync("l", 0, 1));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.ListDeleteAsync("l"));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.ListTouchAsync("l", TimeSpan.FromMinutes(1)));
    }

    /// <summary>A token cancelled before the call is honoured by every operation, even one with nothing to do.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task AllOperations_PreCancelledToken_ThrowOperationCanceled()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var token = cancelled.Token;
        Assert.That(async () => await Store.GetAsync("k", token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.GetManyAsync([], token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.SetAsync("k", Bytes("v"), default, token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.SetManyAsync([], token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.SetManyAsync([new StateWrite("k", Bytes("v"))], token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.DeleteAsync("k", null, token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.ExistsAsync("k", token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.TouchAsync("k", TimeSpan.FromMinutes(1), token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.ListKeysAsync(string.Empty, token).GetAsyncEnumerator(token).MoveNextAsync(), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.PurgeExpiredAsync(token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.ListAppendAsync("l", [], null, token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.ListAppendAsync("l", [Bytes("v")], null, token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.ListRangeAsync("l", 0, -1, token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.ListLengthAsync("l", token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.ListTrimAsync("l", 0, 1, token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.ListDeleteAsync("l", token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.ListTouchAsync("l", TimeSpan.FromMinutes(1), token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(await ListAsync(Store), Is.Empty);
        Assert.That(await Store.ListLengthAsync("l"), Is.Zero);
    }

    /// <summary>
    /// Expiry instants are whole milliseconds, rounded up, on every store: a time to live with a fraction of a millisecond
    /// keeps the entry until the next whole millisecond everywhere, instead of being due earlier in some stores.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_FractionalMillisecondTimeToLive_LiveUntilTheNextWholeMillisecond()
    {
        // An hour plus half a millisecond: the hour keeps Redis' own (real-time) expiry out of the way of the test clock.
        var half = TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond / 2);
        var ttl = TimeSpan.FromHours(1) + half;
        Assert.That(await Store.SetAsync("k", Bytes("v"), new StateWriteOptions(TimeToLive: ttl)), Is.EqualTo(1));
        Assert.That(await Store.SetAsync("k", Bytes("v2"), new StateWriteOptions(TimeToLive: ttl)), Is.EqualTo(2));
        Assert.That((await Store.GetAsync("k"))!.ExpiresAt, Is.EqualTo(Time.GetUtcNow() + TimeSpan.FromHours(1) + TimeSpan.FromMilliseconds(1)));
        Assert.That(await Store.ListAppendAsync("l", [Bytes("a")], ttl), Is.EqualTo(1));

        Time.Advance(ttl);
        Assert.That((await Store.GetAsync("k"))?.Version, Is.EqualTo(2));
        Assert.That(await Store.ListLengthAsync("l"), Is.EqualTo(1));

        Time.Advance(half);
        Assert.That(await Store.GetAsync("k"), Is.Null);
        Assert.That(await Store.ListLengthAsync("l"), Is.Zero);
    }

    /// <summary>Listing prefixes follow the character rules of keys, not the segment rule: <c>.</c> is the prefix of <c>.hidden</c>.</summary>
    /// <param name="prefix">The prefix.</param>
    /// <param name="expected">The keys it lists, separated by <c>|</c>.</param>
    /// <returns>A task.</returns>
    [TestCase(".", "..x|.hidden")]
    [TestCase("..", "..x")]
    [TestCase("a/.", "a/..b|a/.b")]
    [TestCase("a/..", "a/..b")]
    public virtual async Task ListKeysAsync_DotPrefixes_ListTheMatchingKeys(string prefix, string expected)
    {
        foreach (var key in new[] { ".hidden", "..x", "a/.b", "a/..b", "plain" })
        {
            await Store.SetAsync(key, Bytes("v"));
        }

        Assert.That(await ListAsync(Store, prefix), Is.EqualTo(expected.Split('|')));
    }

    /// <summary>A prefix no valid key can start with (a control character) is refused like such a key.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListKeysAsync_PrefixWithControlCharacter_ThrowsInvalidKey()
    {
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await ListAsync(Store, "a\u0001"));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await ListAsync(Store, "a\\"));
    }

    /// <summary>
    /// The longest key the options allow, in three-byte characters, is stored and read back, or refused up front with
    /// <see cref="InvalidStateKeyException"/> naming the backend's limit; it never fails as "unavailable" at write time.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_LongestKeyOfMultiByteCharacters_StoredOrRefusedAsInvalid()
    {
        var store = await CreateStoreWithOptionsAsync(o => o.MaxKeyLength = 4096);
        var key = string.Concat(Enumerable.Range(0, 4096).Select(i => (char)(0x4E00 + (i % 20000))));
        try
        {
            await store.SetAsync(key, Bytes("v"));
        }
        catch (InvalidStateKeyException ex)
        {
            Assert.That(ex.Message, Does.Contain("bytes"));
            await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await store.ListAppendAsync(key, [Bytes("v")]));
            return;
        }

        Assert.That(Text((await store.GetAsync(key))!.Value), Is.EqualTo("v"));
        Assert.That(await ListAsync(store), Is.EqualTo(new[] { key }));
        Assert.That(await store.ListAppendAsync(key, [Bytes("a")]), Is.EqualTo(1));
        Assert.That(await RangeAsync(store, key), Is.EqualTo(new[] { "a" }));
    }

    /// <summary>Indices far beyond the list (up to <see cref="long.MaxValue"/>) clamp, also after the list's head has moved.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListRangeAsync_ExtremeIndicesAfterTrim_ClampToTheList()
    {
        await AppendAsync(Store, "l", "a", "b", "c");
        Assert.That(await Store.ListTrimAsync("l", 1, -1), Is.EqualTo(2));
        Assert.That(await RangeAsync(Store, "l", 0, long.MaxValue), Is.EqualTo(new[] { "b", "c" }));
        Assert.That(await RangeAsync(Store, "l", long.MinValue, long.MaxValue), Is.EqualTo(new[] { "b", "c" }));
        Assert.That(await RangeAsync(Store, "l", long.MinValue, long.MinValue), Is.Empty);
        Assert.That(await RangeAsync(Store, "l", long.MaxValue, long.MaxValue), Is.Empty);
        Assert.That(await RangeAsync(Store, "l", -1, long.MaxValue), Is.EqualTo(new[] { "c" }));
        Assert.That(await Store.ListTrimAsync("l", long.MinValue, long.MaxValue), Is.EqualTo(2));
        Assert.That(await Store.ListTrimAsync("l", 1, long.MaxValue), Is.EqualTo(1));
        Assert.That(await RangeAsync(Store, "l"), Is.EqualTo(new[] { "c" }));
    }

    /// <summary>
    /// Damages the stored bytes of an entry's value in the backend, as a disk or an outside writer would (flip a byte).
    /// Override it for your store; the default cannot reach raw storage and leaves the damage rule inconclusive.
    /// </summary>
    /// <param name="keyPrefix">The key prefix of the store that wrote the entry.</param>
    /// <param name="key">The entry's key.</param>
    /// <returns><see langword="true"/> when the value was damaged.</returns>
    protected virtual ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) => new(false);

    /// <summary>
    /// Damaged value bytes never reach a typed reader: the store detects them (<see cref="StateCorruptedException"/> on
    /// read), or, where a backend stores raw values unchecked (SQL, Redis), the envelope's checksum does on decoding.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task GetAsync_DamagedStoredValue_IsDetectedBeforeAnyTypedRead()
    {
        var codec = new Serialization.StateValueCodec();
        await Store.SetAsync("k", codec.Encode(new Dictionary<string, int> { ["turns"] = 42, ["tokens"] = 1200 }));
        if (!await DamageStoredValueAsync(TestPrefix, "k").ConfigureAwait(false))
        {
            Assert.Inconclusive("Override DamageStoredValueAsync to test how this store's damaged values are detected.");
        }

        StateEntry? entry;
        try
        {
            entry = await Store.GetAsync("k");
        }
        catch (StateCorruptedException ex)
        {
            Assert.That(ex.Key, Is.EqualTo("k"));
            return;
        }

        Assert.That(entry, Is.Not.Null);
        Assert.That(() => codec.Decode<Dictionary<string, int>>(entry!.Value.Span, "k"), Throws.InstanceOf<StateCorruptedException>());
    }
}
