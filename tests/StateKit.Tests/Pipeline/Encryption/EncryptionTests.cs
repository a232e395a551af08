using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;

namespace StateKit.Tests.Pipeline.Encryption;

/// <summary>
/// Issue 26: encryption at rest as a pipeline layer. Values and list items are sealed with AES-256-GCM under the key
/// ring's current key; keys rotate (old values stay readable, a rewrap moves them, then the old key can go); tampering,
/// a value moved to another key, a truncated value and a missing key are typed errors naming the key id, never a key.
/// </summary>
public sealed class EncryptionTests
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("PLAINTEXT-MARKER-the user's conversation");

    [Test]
    public async Task Values_AndListItems_AreStoredSealed_AndReadBackPlain()
    {
        var (k1, _) = TestKeys.New("k1");
        var backend = new MemoryStateStore();
        await using var store = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = TestKeys.Ring(k1)).Build();
        Assert.That(store.DescribePipeline(), Is.EqualTo("encryption > Borrowed > memory"));

        var version = await store.SetAsync("chat", Secret);
        await store.SetManyAsync([new("a", Secret), new("b", Array.Empty<byte>())]);
        await store.ListAppendAsync("log", [Secret, Encoding.UTF8.GetBytes("second")]);

        var read = await store.GetAsync("chat");
        Assert.That(read!.Value.ToArray(), Is.EqualTo(Secret));
        Assert.That(read.Version, Is.EqualTo(version), "versions stay the store's");
        Assert.That((await store.GetManyAsync(["a", "b"]))["b"].Value.Length, Is.Zero, "an empty value round-trips");
        Assert.That((await store.ListRangeAsync("log")).Select(i => Encoding.UTF8.GetString(i.Span)), Is.EqualTo(new[] { Encoding.UTF8.GetString(Secret), "second" }));

        var raw = (await backend.GetAsync("chat"))!.Value.ToArray();
        Assert.That(raw.Length, Is.EqualTo(Secret.Length + 31 + "k1".Length), "overhead: 3-byte header, key id, 12-byte nonce, 16-byte tag");
        Assert.That(Encoding.ASCII.GetString(raw, 3, 2), Is.EqualTo("k1"), "the key id is stored in the clear");
        Assert.That(Contains(raw, Secret.AsSpan(0, 17)), Is.False);
        Assert.That((await backend.ListRangeAsync("log")).Any(i => Contains(i.ToArray(), Secret.AsSpan(0, 17))), Is.False);
        Assert.That(store.GetService<IStateEncryptionStatus>()!.CurrentKeyId, Is.EqualTo("k1"));
    }

    [Test]
    public async Task TheSameValueTwice_IsStoredDifferently()
    {
        var (k1, _) = TestKeys.New("k1");
        var backend = new MemoryStateStore();
        await using var store = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = TestKeys.Ring(k1)).Build();
        await store.SetAsync("a", Secret);
        await store.SetAsync("b", Secret);
        Assert.That((await backend.GetAsync("a"))!.Value.ToArray(), Is.Not.EqualTo((await backend.GetAsync("b"))!.Value.ToArray()), "a random nonce per write");
    }

    [Test]
    public async Task Tampering_IsDetected_FlippedBit_MovedValue_Truncated_ValueAsListItem()
    {
        var (k1, _) = TestKeys.New("k1");
        var backend = new MemoryStateStore();
        await using var store = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = TestKeys.Ring(k1)).Build();
        await store.SetAsync("alice", Secret);
        await store.SetAsync("bob", Encoding.UTF8.GetBytes("bob's"));
        await store.ListAppendAsync("log", [Secret]);
        var sealedValue = (await backend.GetAsync("alice"))!.Value.ToArray();

        for (var at = 0; at < sealedValue.Length; at += 7)
        {
            var flipped = (byte[])sealedValue.Clone();
            flipped[at] ^= 0x01;
            await backend.SetAsync("alice", flipped);
            var error = await Assert.ThrowsAsync(Is.InstanceOf<StateStoreException>(), async () => await store.GetAsync("alice"), $"bit flipped at byte {at}");
            Assert.That(error, Is.InstanceOf<StateCorruptedException>().Or.InstanceOf<StateEncryptionKeyNotFoundException>(), $"byte {at}");
        }

        // A value copied to another key fails authentication: never the other key's plaintext.
        await backend.SetAsync("bob", sealedValue);
        var moved = await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("bob"));
        Assert.That(moved!.Message, Does.Contain("failed authentication with key 'k1'").And.Contain("'bob'"));

        await backend.SetAsync("alice", sealedValue.AsMemory(0, sealedValue.Length - 5));
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("alice"));
        await backend.SetAsync("alice", sealedValue.AsMemory(0, 4));
        Assert.That((await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("alice")))!.Message, Does.Contain("truncated"));

        // A value put into a list (same key) fails too: the associated data says which it was.
        await backend.ListDeleteAsync("alice");
        await backend.ListAppendAsync("alice", [sealedValue]);
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.ListRangeAsync("alice"));

        await backend.SetAsync("alice", sealedValue);
        Assert.That((await store.GetAsync("alice"))!.Value.ToArray(), Is.EqualTo(Secret), "the untouched value still reads");
    }

    [Test]
    public async Task Rotation_WriteWithK1_Rotate_Read_Rewrap_RetireK1_Read()
    {
        var (k1, _) = TestKeys.New("k1");
        var (k2, _) = TestKeys.New("k2");
        var time = new StateKit.Testing.ManualTimeProvider(new DateTimeOffset(2026, 12, 7, 8, 0, 0, TimeSpan.Zero));
        var backend = new MemoryStateStore(new StateStoreOptions(), time);
        await using (var before = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = TestKeys.Ring(k1)).Build())
        {
            for (var i = 0; i < 250; i++)
            {
                await before.SetAsync("user/" + i, Encoding.UTF8.GetBytes("value " + i), new StateWriteOptions(TimeToLive: i % 2 == 0 ? TimeSpan.FromHours(1) : null));
            }

            await before.SetAsync("other/x", Secret);
        }

        var ring = TestKeys.Ring(k2, k1);
        var rotated = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = ring).Build();
        Assert.That(Encoding.UTF8.GetString((await rotated.GetAsync("user/7"))!.Value.Span), Is.EqualTo("value 7"), "old values stay readable with the retired key");
        await rotated.SetAsync("user/0", Encoding.UTF8.GetBytes("new 0"));
        Assert.That(KeyId((await backend.GetAsync("user/0"))!), Is.EqualTo("k2"), "new writes use the current key");

        var versionsBefore = new Dictionary<string, (long Version, DateTimeOffset? Expires)>();
        await foreach (var key in backend.ListKeysAsync("user/"))
        {
            var e = (await backend.GetAsync(key))!;
            versionsBefore[key] = (e.Version, e.ExpiresAt);
        }

        var reports = new List<StateRewrapProgress>();
        var result = await rotated.GetRequiredService<IStateEncryptionStatus>().RewrapAsync("user/", new SyncProgress(reports.Add));
        Assert.That(result, Is.EqualTo(new StateRewrapProgress(250, 249)), "250 read, the one written with k2 skipped");
        Assert.That(reports[^1], Is.EqualTo(result));
        Assert.That(reports.Count, Is.EqualTo(3), "every 100 keys and at the end");
        Assert.That(KeyId((await backend.GetAsync("other/x"))!), Is.EqualTo("k1"), "outside the prefix: untouched");
        foreach (var (key, before) in versionsBefore)
        {
            var e = (await backend.GetAsync(key))!;
            Assert.That(KeyId(e), Is.EqualTo("k2"), key);
            Assert.That(e.ExpiresAt, Is.EqualTo(before.Expires), key + ": the expiry stays");
            Assert.That(e.Version, Is.EqualTo(key == "user/0" ? before.Version : before.Version + 1), key);
        }

        Assert.That(await rotated.GetRequiredService<IStateEncryptionStatus>().RewrapAsync("user/"), Is.EqualTo(new StateRewrapProgress(250, 0)), "run again: nothing left to do");
        await rotated.GetRequiredService<IStateEncryptionStatus>().RewrapAsync();
        await rotated.DisposeAsync();

        // k1 retired: everything reads with k2 alone.
        await using var retired = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = TestKeys.Ring(k2)).Build();
        for (var i = 1; i < 250; i++)
        {
            Assert.That(Encoding.UTF8.GetString((await retired.GetAsync("user/" + i))!.Value.Span), Is.EqualTo("value " + i));
        }

        Assert.That((await retired.GetAsync("other/x"))!.Value.ToArray(), Is.EqualTo(Secret));
    }

    [Test]
    public async Task Rewrap_DoesNotOverwriteAConcurrentWrite()
    {
        var (k1, _) = TestKeys.New("k1");
        var (k2, _) = TestKeys.New("k2");
        var backend = new MemoryStateStore();
        await using (var before = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = TestKeys.Ring(k1)).Build())
        {
            await before.SetAsync("k", Encoding.UTF8.GetBytes("old"));
        }

        // A writer changes the value between the rewrap's read and its write: the rewrap's conditional write loses.
        var racing = new RacingStore(backend);
        await using var store = new StateStorePipelineBuilder(new Borrowed(racing)).UseEncryption(o => o.KeyRing = TestKeys.Ring(k2, k1)).Build();
        racing.BeforeWrite = async () => await store.SetAsync("k", Encoding.UTF8.GetBytes("new"));
        var result = await store.GetRequiredService<IStateEncryptionStatus>().RewrapAsync();
        Assert.That(result.Rewrapped, Is.Zero);
        Assert.That(Encoding.UTF8.GetString((await store.GetAsync("k"))!.Value.Span), Is.EqualTo("new"));
    }

    [Test]
    public async Task AMissingKey_IsATypedError_NamingTheKeyId_NeverAKey()
    {
        var (k1, k1Base64) = TestKeys.New("k1");
        var (k2, k2Base64) = TestKeys.New("k2");
        var backend = new MemoryStateStore();
        await using (var first = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = TestKeys.Ring(k1)).Build())
        {
            await first.SetAsync("k", Secret);
            await first.ListAppendAsync("l", [Secret]);
        }

        await using var other = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = TestKeys.Ring(k2)).Build();
        var error = await Assert.ThrowsAsync<StateEncryptionKeyNotFoundException>(async () => await other.GetAsync("k"));
        Assert.That(error!.KeyId, Is.EqualTo("k1"));
        Assert.That(error.Message, Does.Contain("key 'k1'").And.Not.Contain(k1Base64).And.Not.Contain(k2Base64));
        await Assert.ThrowsAsync<StateEncryptionKeyNotFoundException>(async () => await other.ListRangeAsync("l"));

        // Same id, other material (a wrong key): authentication fails, typed, naming the id.
        var (wrongK1, wrongBase64) = TestKeys.New("k1");
        await using var wrong = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = TestKeys.Ring(wrongK1)).Build();
        var mismatch = await Assert.ThrowsAsync<StateCorruptedException>(async () => await wrong.GetAsync("k"));
        Assert.That(mismatch!.Message, Does.Contain("key 'k1'").And.Not.Contain(k1Base64).And.Not.Contain(wrongBase64));
        Assert.That(k1.ToString(), Is.EqualTo("k1"));
    }

    [Test]
    public async Task UnencryptedValues_AreRefused_UnlessReadUnencrypted_ThenRewrapEncryptsThem()
    {
        var (k1, _) = TestKeys.New("k1");
        var backend = new MemoryStateStore();
        await backend.SetAsync("old", Secret);
        await using (var strict = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = TestKeys.Ring(k1)).Build())
        {
            Assert.That((await Assert.ThrowsAsync<StateCorruptedException>(async () => await strict.GetAsync("old")))!.Message, Does.Contain("not encrypted"));
        }

        await using var migrating = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o =>
        {
            o.KeyRing = TestKeys.Ring(k1);
            o.ReadUnencrypted = true;
        }).Build();
        Assert.That((await migrating.GetAsync("old"))!.Value.ToArray(), Is.EqualTo(Secret));
        Assert.That((await migrating.GetRequiredService<IStateEncryptionStatus>().RewrapAsync()).Rewrapped, Is.EqualTo(1));
        Assert.That(KeyId((await backend.GetAsync("old"))!), Is.EqualTo("k1"));
        Assert.That((await migrating.GetAsync("old"))!.Value.ToArray(), Is.EqualTo(Secret));
    }

    [Test]
    public async Task TheValueLimit_CountsTheOverhead_AndIsCheckedBeforeAnythingIsWritten()
    {
        var (k1, _) = TestKeys.New("key-one");
        var backend = new MemoryStateStore(new StateStoreOptions { MaxValueBytes = 1000 });
        await using var store = new StateStorePipelineBuilder(new Borrowed(backend)).UseEncryption(o => o.KeyRing = TestKeys.Ring(k1)).Build();
        var limit = 1000 - 31 - "key-one".Length;
        await store.SetAsync("fits", new byte[limit]);
        var error = await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await store.SetAsync("big", new byte[limit + 1]));
        Assert.That(error!.Size, Is.EqualTo(limit + 1));
        Assert.That(error.MaxSize, Is.EqualTo(limit));
        await Assert.ThrowsAsync<StateValueTooLargeException>(async () => await store.ListAppendAsync("l", [new byte[limit + 1]]));
        Assert.That(await backend.GetAsync("big"), Is.Null);
        Assert.That(await backend.ListLengthAsync("l"), Is.Zero);
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await store.SetAsync("", new byte[1]));
    }

    [Test]
    public void Keys_AreChecked_WithoutShowingThem()
    {
        Assert.Throws<ArgumentException>(() => new StateEncryptionKey("bad id", new byte[32]));
        Assert.Throws<ArgumentException>(() => new StateEncryptionKey(new string('a', 65), new byte[32]));
        var shortKey = Assert.Throws<ArgumentException>(() => new StateEncryptionKey("k", new byte[16]));
        Assert.That(shortKey!.Message, Does.Contain("16 bytes").And.Contain("exactly 32"));
        var (a, _) = TestKeys.New("same");
        var (b, _) = TestKeys.New("same");
        Assert.Throws<ArgumentException>(() => TestKeys.Ring(a, b));
        Assert.That(TestKeys.Ring(a, a).KeyIds, Is.EquivalentTo(new[] { "same" }));
    }

    [Test]
    public async Task FromConfiguration_TheDefaultAndANamedStore_AndBadKeysFailTheStart_NamingThePathNotTheKey()
    {
        var (_, k1) = TestKeys.New("k1");
        var (_, k2) = TestKeys.New("k2");
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Encryption:Enabled"] = "true",
            ["StateKit:Encryption:CurrentKeyId"] = "k2",
            ["StateKit:Encryption:Keys:k1"] = k1,
            ["StateKit:Encryption:Keys:k2"] = k2,
            ["StateKit:Stores:secure:Store:Type"] = "memory",
            ["StateKit:Stores:secure:Encryption:Enabled"] = "true",
            ["StateKit:Stores:secure:Encryption:CurrentKeyId"] = "k1",
            ["StateKit:Stores:secure:Encryption:Keys:k1"] = k1,
        }).Build();
        var services = new ServiceCollection();
        services.AddStateKit(config.GetSection("StateKit")).UseL1().UseWriteBehind(Path.Combine(TestContext.CurrentContext.WorkDirectory, "enc-journal-" + Guid.NewGuid().ToString("N")));
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<IStateStore>();
            Assert.That(store.DescribePipeline(), Is.EqualTo("telemetry > l1 > encryption > write-behind > memory"));
            await store.SetAsync("k", Secret);
            Assert.That((await store.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(Secret));
            Assert.That(store.GetRequiredService<IStateEncryptionStatus>().CurrentKeyId, Is.EqualTo("k2"));
            var secure = provider.GetRequiredKeyedService<IStateStore>("secure");
            Assert.That(secure.DescribePipeline(), Is.EqualTo("telemetry > encryption > memory"));
            Assert.That(secure.GetRequiredService<IStateEncryptionStatus>().CurrentKeyId, Is.EqualTo("k1"));
        }

        var bad = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Encryption:Enabled"] = "true",
            ["StateKit:Encryption:CurrentKeyId"] = "k3",
            ["StateKit:Encryption:Keys:k1"] = k1[..20],
        }).Build();
        var invalid = new ServiceCollection();
        invalid.AddStateKit(bad.GetSection("StateKit"));
        await using var failing = invalid.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => failing.GetRequiredService<IOptions<StateKitOptions>>().Value.ToString());
        Assert.That(error!.Message, Does.Contain("StateKit:Encryption:Keys:k1: the key is not base64 of exactly 32 bytes").And.Contain("StateKit:Encryption:CurrentKeyId: 'k3' is not one of StateKit:Encryption:Keys").And.Not.Contain(k1[..20]));

        // In code: UseEncryption binds the same section, then code; a missing current key fails the start.
        var code = new ServiceCollection();
        code.AddStateKit().UseEncryption(o => o.Keys["k1"] = k1);
        await using var noCurrent = code.BuildServiceProvider();
        var missing = Assert.Throws<OptionsValidationException>(() => noCurrent.GetRequiredService<IOptions<StateEncryptionOptions>>().Value.ToString());
        Assert.That(missing!.Message, Does.Contain("StateKit:Encryption:CurrentKeyId: required").And.Not.Contain(k1));
    }

    [Test]
    public async Task UseEncryption_InCode_WithAKeyRing_AndTheProviderReadsThroughIt()
    {
        var (k1, _) = TestKeys.New("k1");
        var services = new ServiceCollection();
        services.AddStateKit().UseEncryption(o => o.KeyRing = TestKeys.Ring(k1));
        await using var provider = services.BuildServiceProvider();
        var state = provider.GetRequiredService<IStateProvider>();
        var scope = StateScope.Shared("team");
        await state.SetAsync(scope, "profile", new Profile("Ada", "PLAINTEXT-MARKER"));
        await state.UpdateAsync<Profile>(scope, "profile", p => p! with { Name = "Ada L." });
        await state.AppendAsync(scope, "turns", new[] { new Profile("user", "PLAINTEXT-MARKER turn") });
        Assert.That((await state.GetAsync<Profile>(scope, "profile"))!.Value.Name, Is.EqualTo("Ada L."));
        Assert.That((await state.GetHistoryAsync(scope, "profile")).Count, Is.EqualTo(2));
        Assert.That((await state.GetRangeAsync<Profile>(scope, "turns")).Single().Note, Is.EqualTo("PLAINTEXT-MARKER turn"));

        var memory = provider.GetRequiredService<IStateStore>().GetRequiredService<MemoryStateStore>();
        await foreach (var key in memory.ListKeysAsync())
        {
            Assert.That(Contains((await memory.GetAsync(key))!.Value.ToArray(), Encoding.UTF8.GetBytes("PLAINTEXT-MARKER")), Is.False, key);
        }
    }

    [Test]
    public async Task DuringAnOutage_TheFallbackHoldsCiphertext_AndTheReplayCarriesIt()
    {
        var (k1, _) = TestKeys.New("k1");
        var primaryMemory = new MemoryStateStore();
        var primary = new Resilience.SwitchableStore(primaryMemory);
        var copy = new MemoryStateStore();
        await using var store = new StateStorePipelineBuilder(primary)
            .UseEncryption(o => o.KeyRing = TestKeys.Ring(k1))
            .UseFallback([new Borrowed(copy)])
            .Build();
        Assert.That(store.DescribePipeline(), Does.StartWith("encryption > fallback["));

        primary.Down = true;
        await store.SetAsync("during-outage", Secret);
        await store.ListAppendAsync("turns", [Secret]);
        var fallback = store.GetRequiredService<IFallbackStatus>();
        Assert.That(fallback.IsOnFallback, Is.True);
        Assert.That(copy.StoredBytesForTest().Where(s => Contains(s.Bytes, Secret.AsSpan(0, 17))).Select(s => s.Key), Is.Empty, "the fallback and its journal hold no plaintext");
        Assert.That((await copy.GetAsync("during-outage"))!.Value.Span[0], Is.EqualTo(0xE5), "the fallback holds the sealed value");

        primary.Down = false;
        Assert.That(await fallback.TryRecoverAsync(), Is.True);
        for (var i = 0; i < 500 && fallback.PendingReplay > 0; i++)
        {
            await Task.Delay(10);
        }

        Assert.That(fallback.PendingReplay, Is.Zero);
        Assert.That((await primaryMemory.GetAsync("during-outage"))!.Value.Span[0], Is.EqualTo(0xE5), "the replay carried the sealed bytes to the primary");
        Assert.That(primaryMemory.StoredBytesForTest().Where(s => Contains(s.Bytes, Secret.AsSpan(0, 17))), Is.Empty);
        Assert.That((await store.GetAsync("during-outage"))!.Value.ToArray(), Is.EqualTo(Secret));
        Assert.That((await store.ListRangeAsync("turns")).Single().ToArray(), Is.EqualTo(Secret));
        await copy.DisposeAsync();
    }

    internal static bool Contains(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    private static string KeyId(StateEntry entry) => Encoding.ASCII.GetString(entry.Value.Span.Slice(3, entry.Value.Span[2]));

    private sealed record Profile(string Name, string Note);

    private sealed class SyncProgress(Action<StateRewrapProgress> report) : IProgress<StateRewrapProgress>
    {
        public void Report(StateRewrapProgress value) => report(value);
    }

    /// <summary>Runs <see cref="BeforeWrite"/> once, just before the first conditional write reaches the store.</summary>
    private sealed class RacingStore(IStateStore inner) : DelegatingStateStore(inner)
    {
        public Func<Task>? BeforeWrite { get; set; }

        public override async ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
        {
            if (options.ExpectedVersion is not null && BeforeWrite is { } before)
            {
                BeforeWrite = null;
                await before();
            }

            return await base.SetAsync(key, value, options, cancellationToken);
        }
    }
}
