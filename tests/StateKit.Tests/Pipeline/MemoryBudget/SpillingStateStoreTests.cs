using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using StateKit.Testing;
using StateKit.Tests.Pipeline;

namespace StateKit.Tests.Resilience;

/// <summary>The memory budget: least recently used entries spill to files and come back intact, versions and expiry included.</summary>
public sealed class SpillingStateStoreTests
{
    private readonly ManualTimeProvider _time = new(DateTimeOffset.UtcNow);
    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("statekit-spill-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [Test]
    public async Task TenTimesTheBudget_StaysWithinIt_AndEveryValueReadsBackIntact()
    {
        const long budget = 64 * 1024;
        await using var store = Create(budget);
        var values = new Dictionary<string, byte[]>();
        for (var i = 0; i < 640; i++)
        {
            var key = "session/" + i;
            var value = Value(i, 1000);
            values[key] = value;
            await store.SetAsync(key, value, new StateWriteOptions(null, TimeSpan.FromHours(1)));
            Assert.That(store.ResidentBytes, Is.LessThanOrEqualTo(budget), $"after write {i}");
        }

        Assert.That(store.Spills, Is.GreaterThan(500));
        Assert.That(store.SpilledCount, Is.GreaterThan(500));
        Assert.That(Directory.GetFiles(store.SpillPath), Is.Not.Empty);
        foreach (var (key, value) in values)
        {
            var entry = await store.GetAsync(key);
            Assert.That(entry, Is.Not.Null, key);
            Assert.That(entry!.Value.ToArray(), Is.EqualTo(value), key);
            Assert.That(entry.Version, Is.EqualTo(1));
            Assert.That(entry.ExpiresAt, Is.EqualTo(_time.GetUtcNow() + TimeSpan.FromHours(1)).Within(TimeSpan.FromMilliseconds(1)));
            Assert.That(store.ResidentBytes, Is.LessThanOrEqualTo(budget));
        }

        Assert.That(store.Restores, Is.GreaterThan(500));
        var listed = new List<string>();
        await foreach (var key in store.ListKeysAsync("session/"))
        {
            listed.Add(key);
        }

        Assert.That(listed, Is.EquivalentTo(values.Keys));
    }

    [Test]
    public async Task AOneMegabyteBudget_Under100MegabytesOfSessions_ReadsEverythingBackIntact()
    {
        const long budget = 1024 * 1024;
        await using var store = new SpillingStateStore(new MemoryStateStore(), new MemoryBudgetOptions { MaxResidentBytes = budget, SpillDirectory = _root });
        const int sessions = 100_000;
        var peak = 0L;
        for (var i = 0; i < sessions; i++)
        {
            await store.SetAsync($"sessions/chat/{i:x8}", Value(i, 1024));
            peak = Math.Max(peak, store.ResidentBytes);
        }

        for (var i = sessions - 1; i >= 0; i -= 7)
        {
            var entry = await store.GetAsync($"sessions/chat/{i:x8}");
            Assert.That(entry?.Value.Span.SequenceEqual(Value(i, 1024)), Is.True, $"session {i}");
            peak = Math.Max(peak, store.ResidentBytes);
        }

        Assert.That(peak, Is.LessThanOrEqualTo(budget));
        Assert.That(store.SpilledCount, Is.GreaterThan(sessions - 2000));
    }

    [Test]
    public async Task RecentlyUsedEntries_StayInMemory()
    {
        await using var store = Create(16 * 1024);
        await store.SetAsync("hot", Value(1, 1000));
        for (var i = 0; i < 200; i++)
        {
            await store.SetAsync("cold/" + i, Value(i, 1000));
            await store.GetAsync("hot");
        }

        var restores = store.Restores;
        Assert.That((await store.GetAsync("hot"))!.Value.ToArray(), Is.EqualTo(Value(1, 1000)));
        Assert.That(store.Restores, Is.EqualTo(restores), "the hot entry was never spilled");
        Assert.That(store.Spills, Is.GreaterThan(150));
    }

    [Test]
    public async Task ASpilledEntry_KeepsItsVersion_ForEveryWrite()
    {
        await using var store = Create(1024);
        var v3 = 0L;
        for (var i = 0; i < 3; i++)
        {
            v3 = await store.SetAsync("k", Value(i, 100));
        }

        store.SpillAllForTest();
        Assert.That(store.SpilledCount, Is.EqualTo(1));
        Assert.That(await store.SetAsync("k", Value(9, 100)), Is.EqualTo(v3 + 1), "an unconditional write continues the version");

        store.SpillAllForTest();
        var conflict = await Assert.ThrowsAsync<StateConflictException>(async () => await store.SetAsync("k", Value(10, 100), new StateWriteOptions(v3)));
        Assert.That(conflict!.CurrentVersion, Is.EqualTo(v3 + 1));
        store.SpillAllForTest();
        Assert.That(await store.SetAsync("k", Value(11, 100), new StateWriteOptions(v3 + 1)), Is.EqualTo(v3 + 2));

        store.SpillAllForTest();
        Assert.That(await store.SetAtVersionAsync("k", Value(12, 100), v3, null), Is.False, "a lower version never replaces a spilled higher one");
        store.SpillAllForTest();
        await Assert.ThrowsAsync<StateConflictException>(async () => await store.DeleteAsync("k", v3));
        store.SpillAllForTest();
        Assert.That(await store.DeleteAsync("k", v3 + 2), Is.True);
        Assert.That(await store.GetAsync("k"), Is.Null);
        Assert.That(store.SpilledCount, Is.Zero);
        Assert.That(Directory.GetFiles(store.SpillPath), Has.Length.LessThanOrEqualTo(1), "at most the segment still being appended to");
    }

    [Test]
    public async Task ASpilledEntry_ExpiresOnTime_AndPurgeRemovesItsFile()
    {
        await using var store = Create(1024);
        await store.SetAsync("short", Value(1, 100), new StateWriteOptions(null, TimeSpan.FromMinutes(1)));
        await store.SetAsync("long", Value(2, 100), new StateWriteOptions(null, TimeSpan.FromHours(1)));
        store.SpillAllForTest();
        Assert.That(store.SpilledCount, Is.EqualTo(2));
        Assert.That(await store.TouchAsync("long", TimeSpan.FromHours(2)), Is.True, "a touch brings it back and moves its expiry");
        store.SpillAllForTest();

        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.That(await store.ExistsAsync("short"), Is.False);
        var keys = new List<string>();
        await foreach (var key in store.ListKeysAsync())
        {
            keys.Add(key);
        }

        Assert.That(keys, Is.EqualTo(new[] { "long" }));
        await store.SetAsync("other", Value(3, 100), new StateWriteOptions(null, TimeSpan.FromMinutes(1)));
        store.SpillAllForTest();
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.That(await store.PurgeExpiredAsync(), Is.GreaterThanOrEqualTo(1));
        Assert.That(store.SpilledCount, Is.EqualTo(1));
        Assert.That((await store.GetAsync("long"))!.ExpiresAt, Is.EqualTo(_time.GetUtcNow() - TimeSpan.FromMinutes(4) + TimeSpan.FromHours(2)).Within(TimeSpan.FromMilliseconds(1)));
    }

    [Test]
    public async Task ADamagedOrMissingSpillFile_IsATypedError_NeverAnotherValueOrASilentLoss()
    {
        await using var store = Create(1024);
        await store.SetAsync("damaged", Value(1, 200));
        await store.SetAsync("missing", Value(2, 200));
        store.SpillAllForTest();
        Assert.That(store.DamageSpillForTest("damaged"), Is.True);

        var damaged = await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("damaged"));
        Assert.That(damaged!.Message, Does.Contain("checksum"));
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("damaged"), "still reported on the next read");
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.SetAsync("damaged", Value(3, 10)), "a write does not paper over it");
        Assert.That((await store.GetAsync("missing"))!.Value.ToArray(), Is.EqualTo(Value(2, 200)), "the other record of the segment is intact");

        await store.SetAsync("cut", Value(4, 200));
        store.SpillAllForTest();
        Assert.That(store.TruncateSpillForTest("cut"), Is.True);
        var cut = await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("cut"));
        Assert.That(cut!.Message, Does.Contain("cut short"));
    }

    [Test]
    public async Task ASpillThatCannotBeWritten_KeepsEverythingInMemory_AndSpillsResumeLater()
    {
        await using var store = Create(8 * 1024);
        store.FailSpillWritesForTest = new IOException("No space left on device"); // the disk is full
        for (var i = 0; i < 40; i++)
        {
            await store.SetAsync("k/" + i, Value(i, 1000));
        }

        Assert.That(store.Spills, Is.Zero);
        Assert.That(store.ResidentBytes, Is.GreaterThan(8 * 1024), "over the budget rather than losing anything");
        for (var i = 0; i < 40; i++)
        {
            Assert.That((await store.GetAsync("k/" + i))!.Value.ToArray(), Is.EqualTo(Value(i, 1000)));
        }

        store.FailSpillWritesForTest = null; // space again
        await store.SetAsync("k/40", Value(40, 1000));
        Assert.That(store.ResidentBytes, Is.LessThanOrEqualTo(8 * 1024));
        for (var i = 0; i <= 40; i++)
        {
            Assert.That((await store.GetAsync("k/" + i))!.Value.ToArray(), Is.EqualTo(Value(i, 1000)));
        }
    }

    [Test]
    public async Task Moves_TellTheChangeFeedNothing()
    {
        await using var store = Create(2048);
        var notices = new ConcurrentQueue<StateStoreChange>();
        await using var subscription = await store.GetService<IStateChangeFeed>()!.SubscribeAsync(string.Empty, (change, _) =>
        {
            notices.Enqueue(change);
            return ValueTask.CompletedTask;
        });
        for (var i = 0; i < 20; i++)
        {
            await store.SetAsync("k/" + i, Value(i, 500));
        }

        for (var i = 0; i < 20; i++)
        {
            await store.GetAsync("k/" + i);
        }

        await Task.Delay(200);
        Assert.That(store.Spills, Is.GreaterThan(10));
        Assert.That(store.Restores, Is.GreaterThan(10));
        Assert.That(notices.Select(n => (n.Key, n.Kind, n.Version)), Is.EquivalentTo(Enumerable.Range(0, 20).Select(i => ("k/" + i, StateStoreChangeKind.Set, 1L))));
    }

    [Test]
    public async Task ParallelReadersAndWriters_UnderATightBudget_LoseNothing()
    {
        await using var store = new SpillingStateStore(new MemoryStateStore(), new MemoryBudgetOptions { MaxResidentBytes = 16 * 1024, SpillDirectory = _root });
        var latest = new ConcurrentDictionary<string, long>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 8), async (worker, _) =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 400; i++)
            {
                var key = "k/" + random.Next(64);
                if (random.Next(2) == 0)
                {
                    // A compare-and-set increment: a lost update would show as a missing count at the end.
                    while (true)
                    {
                        var current = await store.GetAsync(key);
                        var count = current is null ? 0 : BitConverter.ToInt64(current.Value.Span[..8]);
                        try
                        {
                            await store.SetAsync(key, (byte[])[.. BitConverter.GetBytes(count + 1), .. new byte[500]], new StateWriteOptions(current?.Version ?? 0));
                            latest.AddOrUpdate(key, 1, (_, n) => n + 1);
                            break;
                        }
                        catch (StateConflictException)
                        {
                        }
                    }
                }
                else
                {
                    await store.GetAsync(key);
                }
            }
        });

        Assert.That(store.Spills, Is.GreaterThan(0));
        foreach (var (key, count) in latest)
        {
            var entry = await store.GetAsync(key);
            Assert.That(BitConverter.ToInt64(entry!.Value.Span[..8]), Is.EqualTo(count), key);
            Assert.That(entry.Version, Is.EqualTo(count), key);
        }
    }

    [Test]
    public async Task ANewStore_RemovesTheSpillDirectoriesOfProcessesThatAreGone()
    {
        var gone = Directory.CreateDirectory(Path.Combine(_root, "2147483000-deadbeef")).FullName;
        await System.IO.File.WriteAllBytesAsync(Path.Combine(gone, "0000000000000001.tmp"), [1, 2, 3]); // a spill cut off by the crash
        var foreign = Directory.CreateDirectory(Path.Combine(_root, "not-a-spill-directory")).FullName;
        await using var store = Create(1024);
        Assert.That(Directory.Exists(gone), Is.False);
        Assert.That(Directory.Exists(foreign), Is.True, "only directories named like a process's are touched");
        Assert.That(Directory.Exists(store.SpillPath), Is.True);
        await store.DisposeAsync();
        Assert.That(Directory.Exists(store.SpillPath), Is.False, "removed on dispose");
    }

    [Test]
    public async Task UseMemoryBudget_AndConfiguration_SelectTheSpillingStore()
    {
        var services = new ServiceCollection();
        services.AddStateKit().UseMemoryBudget(4096, _root);
        await using (var provider = services.BuildServiceProvider())
        {
            Assert.That(provider.GetRequiredService<IStateStore>().Unwrapped(), Is.InstanceOf<SpillingStateStore>());
        }

        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:MemoryBudget:MaxResidentBytes"] = "100000",
            ["StateKit:MemoryBudget:SpillDirectory"] = _root,
        }).Build();
        var fromConfig = new ServiceCollection();
        fromConfig.AddStateKit(config.GetSection("StateKit"));
        await using (var provider = fromConfig.BuildServiceProvider())
        {
            Assert.That(provider.GetRequiredService<IStateStore>().Unwrapped(), Is.InstanceOf<SpillingStateStore>());
        }

        var invalid = new ServiceCollection();
        invalid.AddStateKit(o => o.MemoryBudget.MaxResidentBytes = 100_000);
        await using var bad = invalid.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IOptions<StateKitOptions>>().Value.ToString());
        Assert.That(error!.Message, Does.Contain("StateKit:MemoryBudget:SpillDirectory is required"));
    }

    private static byte[] Value(int seed, int length) => Enumerable.Range(0, length).Select(i => (byte)(seed * 31 + i)).ToArray();

    private SpillingStateStore Create(long budget) =>
        new(new MemoryStateStore(null, _time), new MemoryBudgetOptions { MaxResidentBytes = budget, SpillDirectory = _root }, _time);
}
