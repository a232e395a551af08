using System.Text.Json;
using NUnit.Framework;

namespace StateKit.Tests.Coordination;

/// <summary>
/// Issue 27: mergeable state. Property tests: random operations on 2 to 8 replicas, merged in random orders and
/// groupings and more than once, converge to one value (merge is commutative, associative and idempotent); and the
/// semantics each type promises (counts add up, the last write wins, an add concurrent with a remove survives).
/// </summary>
public sealed class CrdtTests
{
    [Test]
    public void Counters_Converge_WhateverTheMergeOrder_AndCountEveryChange()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var replicas = Enumerable.Range(0, random.Next(2, 9)).Select(_ => new PNCounter()).ToArray();
            long expected = 0;
            for (var op = 0; op < 60; op++)
            {
                var r = random.Next(replicas.Length);
                if (random.Next(4) == 0)
                {
                    replicas[r] = replicas[r].Merge(replicas[random.Next(replicas.Length)]); // gossip between replicas
                    continue;
                }

                var delta = random.Next(-5, 10);
                replicas[r] = replicas[r].Add("r" + r, delta);
                expected += delta;
            }

            var merged = AssertConverges(replicas, random, Canonical);
            Assert.That(merged.Value, Is.EqualTo(expected), $"seed {seed}: every change counted once");
        }
    }

    [Test]
    public void Registers_AndMaps_Converge_AndTheLastWriteWins()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var replicas = Enumerable.Range(0, random.Next(2, 9)).Select(_ => new LwwMap<int>()).ToArray();
            var last = new Dictionary<string, (long Timestamp, string Replica, int? Value)>();
            for (var op = 0; op < 60; op++)
            {
                var r = random.Next(replicas.Length);
                var key = "k" + random.Next(4);
                var timestamp = random.Next(0, 40); // clocks that collide: ties broken by replica id
                var replica = "r" + r;
                int? value = random.Next(5) == 0 ? null : random.Next(1000);
                replicas[r] = value is { } v ? replicas[r].Set(key, v, replica, timestamp) : replicas[r].Remove(key, replica, timestamp);
                if (!last.TryGetValue(key, out var known) || timestamp > known.Timestamp || (timestamp == known.Timestamp && string.CompareOrdinal(replica, known.Replica) > 0) || (timestamp == known.Timestamp && replica == known.Replica && value is null))
                {
                    last[key] = (timestamp, replica, value);
                }
            }

            var merged = AssertConverges(replicas, random, Canonical);
            var expected = last.Where(l => l.Value.Value is not null).ToDictionary(l => l.Key, l => l.Value.Value);
            Assert.That(merged.Items, Is.EquivalentTo(expected), $"seed {seed}: each key holds its last write (by timestamp, then replica)");
        }
    }

    [Test]
    public void Sets_Converge_AndAnAddConcurrentWithARemoveSurvives()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var replicas = Enumerable.Range(0, random.Next(2, 9)).Select(_ => new ORSet<string>()).ToArray();
            for (var op = 0; op < 60; op++)
            {
                var r = random.Next(replicas.Length);
                var element = "e" + random.Next(5);
                replicas[r] = random.Next(5) switch
                {
                    0 => replicas[r].Merge(replicas[random.Next(replicas.Length)]),
                    1 or 2 => replicas[r].Remove(element),
                    _ => replicas[r].Add(element),
                };
            }

            var merged = AssertConverges(replicas, random, Canonical);
            // An element is in the merged set exactly when some replica added it in an add no replica removed.
            var live = replicas.SelectMany(x => x.Adds).Where(a => !replicas.Any(x => x.Removed.Contains(a.Key, StringComparer.Ordinal))).Select(a => a.Value).ToHashSet();
            Assert.That(merged.Elements, Is.EquivalentTo(live), $"seed {seed}");
        }

        var a = new ORSet<string>().Add("x");
        var b = a.Remove("x");                 // b saw a's add and removed it
        var c = a.Add("x");                    // c added x again, concurrently
        Assert.That(b.Merge(c).Contains("x"), Is.True, "the concurrent add survives the remove");
        Assert.That(b.Merge(a).Contains("x"), Is.False, "the observed add is removed");
    }

    [Test]
    public void UniqueLists_Converge_KeepEachItemOnce_InTheOrderOfItsFirstLiveAdd()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var replicas = Enumerable.Range(0, random.Next(2, 9)).Select(_ => new UniqueList<string>()).ToArray();
            for (var op = 0; op < 60; op++)
            {
                var r = random.Next(replicas.Length);
                var item = "i" + random.Next(6);
                replicas[r] = random.Next(5) switch
                {
                    0 => replicas[r].Merge(replicas[random.Next(replicas.Length)]),
                    1 => replicas[r].Remove(item),
                    _ => replicas[r].Add(item, "r" + r, op),
                };
            }

            var merged = AssertConverges(replicas, random, Canonical);
            Assert.That(merged.Items, Is.Unique, $"seed {seed}: each item once");
            var live = replicas.SelectMany(x => x.Adds).DistinctBy(a => a.Key).Where(a => !replicas.Any(x => x.Removed.Contains(a.Key, StringComparer.Ordinal))).ToList();
            var expected = live.OrderBy(a => a.Value.Timestamp).ThenBy(a => a.Value.Replica, StringComparer.Ordinal).ThenBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Value.Item).Distinct();
            Assert.That(merged.Items, Is.EqualTo(expected), $"seed {seed}: in the order of each item's first live add");
        }

        var list = new UniqueList<string>().Add("a", "r1", 1).Add("b", "r1", 2).Add("a", "r1", 3);
        Assert.That(list.Items, Is.EqualTo(new[] { "a", "b" }), "an item already in the list is not added again");
    }

    /// <summary>
    /// Merges the replicas in three random orders and groupings, once more with duplicates, and checks every result is
    /// the same value, and that merge is commutative and idempotent on random pairs.
    /// </summary>
    private static T AssertConverges<T>(T[] replicas, Random random, Func<T, string> canonical)
        where T : class, IMergeable<T>
    {
        var results = new List<string>();
        T? first = null;
        for (var round = 0; round < 3; round++)
        {
            var order = replicas.OrderBy(_ => random.Next()).ToList();
            if (round == 2)
            {
                order.AddRange(order.Take(2)); // merged twice
            }

            // A random grouping: merge random pairs until one value is left (associativity).
            var pool = order.ToList();
            while (pool.Count > 1)
            {
                var i = random.Next(pool.Count);
                var x = pool[i];
                pool.RemoveAt(i);
                var j = random.Next(pool.Count);
                pool[j] = x.Merge(pool[j]);
            }

            first ??= pool[0];
            results.Add(canonical(pool[0]));
        }

        Assert.That(results.Distinct().Count(), Is.EqualTo(1), "every order and grouping converges");
        var (p, q) = (replicas[random.Next(replicas.Length)], replicas[random.Next(replicas.Length)]);
        Assert.That(canonical(p.Merge(q)), Is.EqualTo(canonical(q.Merge(p))), "commutative");
        Assert.That(canonical(p.Merge(p)), Is.EqualTo(canonical(p)), "idempotent");
        return first!;
    }

    private static string Canonical(PNCounter c) => JsonSerializer.Serialize(new { I = Sorted(c.Increments.Where(e => e.Value != 0)), D = Sorted(c.Decrements.Where(e => e.Value != 0)) });

    private static string Canonical<TValue>(LwwMap<TValue> m) => JsonSerializer.Serialize(m.Entries.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new { e.Key, e.Value.Value, e.Value.Timestamp, e.Value.Replica, e.Value.Removed }));

    private static string Canonical<TValue>(ORSet<TValue> s)
        where TValue : notnull =>
        JsonSerializer.Serialize(new { A = s.Adds.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + "=" + a.Value), R = s.Removed.Order(StringComparer.Ordinal) });

    private static string Canonical<TValue>(UniqueList<TValue> l)
        where TValue : notnull =>
        JsonSerializer.Serialize(new { A = l.Adds.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value.Item}@{a.Value.Timestamp}/{a.Value.Replica}"), R = l.Removed.Order(StringComparer.Ordinal) });

    private static IEnumerable<KeyValuePair<string, long>> Sorted(IEnumerable<KeyValuePair<string, long>> entries) => entries.OrderBy(e => e.Key, StringComparer.Ordinal);
}
