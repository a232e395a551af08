using NUnit.Framework;
using StateKit.Internal;

namespace StateKit.Tests.Pipeline;

/// <summary>
/// The byte-accounted map the L1 tier, write-behind and the memory budget share (issue 24: written once instead of three
/// times). Its sum must equal the sizes of what it holds after any interleaving: the three copies added sizes inside
/// <c>ConcurrentDictionary.AddOrUpdate</c> factories, which run again (and are thrown away) under contention, so the L1
/// tier's byte count could drift when two reads of one key were held at once.
/// </summary>
public sealed class SizedMapTests
{
    [Test]
    public async Task TheSum_MatchesWhatIsHeld_AfterContendedSetsUpdatesAndRemovals()
    {
        var map = new SizedMap<Box>(box => box.Size);
        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 100_000; i++)
            {
                var key = "k" + random.Next(4);
                var size = random.Next(1, 1000);
                switch (random.Next(5))
                {
                    case 0:
                        map.TryRemove(key, out _);
                        break;
                    case 1:
                        if (map.TryGetValue(key, out var seen))
                        {
                            map.TryRemove(key, seen);
                        }

                        break;
                    case 2:
                        if (map.TryGetValue(key, out var current))
                        {
                            map.TryUpdate(key, new Box(size), current);
                        }

                        break;
                    default:
                        map.Set(key, old => old is not null && old.Size > size ? old : new Box(size)); // sometimes keeps the old value
                        break;
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);

        Assert.That(map.Bytes, Is.EqualTo(map.Values.Sum(box => (long)box.Size)));
        Assert.That(map.Count, Is.EqualTo(map.Keys.Count));
        map.Clear();
        Assert.That(map.Bytes, Is.Zero);
        Assert.That(map.Count, Is.Zero);
    }

    [Test]
    public void ValuesThatDoNotCount_AreHeldAtZero_AndCountOnceTheyDo()
    {
        var map = new SizedMap<Box>(box => box.Counts ? box.Size : 0);
        map.Set("a", _ => new Box(100));
        var clean = new Box(100) { Counts = false };
        Assert.That(map.TryUpdate("a", clean, map.Set("a", old => old!)), Is.True);
        Assert.That(map.Bytes, Is.Zero, "a flushed write no longer counts");
        map.Set("a", _ => new Box(40));
        Assert.That(map.Bytes, Is.EqualTo(40));
        Assert.That(map.TryRemove("a", new Box(40)), Is.False, "a class compares by reference: another instance is not the held value");
        Assert.That(map.TryRemove("a", out var removed) && removed.Size == 40, Is.True);
        Assert.That(map.Bytes, Is.Zero);
    }

    private sealed class Box(int size)
    {
        public int Size { get; } = size;

        public bool Counts { get; init; } = true;
    }
}

/// <summary>The L1 tier's byte count through its status after many reads of the same keys raced to be held.</summary>
public sealed class L1ByteCountTests
{
    [Test]
    public async Task AfterRacingReads_TheTiersByteCount_IsWhatItHolds()
    {
        var backend = new MemoryStateStore();
        await using var store = new StateStorePipelineBuilder(new Provider.NonDisposingStore(backend)).UseL1().Build();
        var keys = new[] { "a", "bb", "ccc", "dddd" };
        for (var round = 0; round < 2_000; round++)
        {
            var key = keys[round % keys.Length];
            await backend.SetAsync(key, new byte[(round % 50) + 1]); // the feed drops the held entry
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () => await store.GetAsync(key))));
        }

        long expected = 0;
        foreach (var key in keys)
        {
            var entry = await store.GetAsync(key);
            expected += entry!.Value.Length + (key.Length * 2) + 64;
        }

        var status = store.GetService<IL1Status>()!;
        Assert.That(status.Count, Is.EqualTo(keys.Length));
        Assert.That(status.Bytes, Is.EqualTo(expected));
        await backend.DisposeAsync();
    }
}
