using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace StateKit.Tests.Coordination;

/// <summary>
/// Issue 27: mergeable state stored as normal versioned values on every store, written by two instances at once: each
/// of 8 writers keeps its own replica and folds it in with <c>MergeAsync</c> (a merge inside the compare-and-set retry);
/// every change survives, and merging a copy again changes nothing. Through an L1 tier on each instance, a merge that
/// started from a copy the other instance has since changed loses its compare-and-set at the store and merges again
/// from the stored value; the other instance's change notice drops the stale copy, so both instances then read the
/// merged value.
/// </summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class CrdtStoreTests(string kind) : StoreFixture(kind)
{
    private readonly string _kind = kind;

    [TestCase(false)]
    [TestCase(true)]
    public async Task ConcurrentMerges_FromTwoInstances_LoseNoChange(bool throughL1)
    {
        await TestStores.WithTwinsAsync(_kind, Time, async (first, second) =>
        {
            Action<StateKitBuilder>? l1 = throughL1 ? b => b.UseL1() : null;
            var instances = new[] { Container(l1, first), Container(l1, second) }
                .Select(c => c.GetRequiredService<IStateProvider>()).ToArray();
            var scope = StateScope.Shared("board");
            var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                var counter = new PNCounter();
                var seen = new ORSet<string>();
                var order = new UniqueList<string>();
                var provider = instances[w % 2];
                for (var i = 0; i < 10; i++)
                {
                    counter = counter.Add("worker-" + w, 1);
                    seen = seen.Add($"w{w}-step{i}");
                    if (i % 3 == 0)
                    {
                        seen = seen.Remove($"w{w}-step{i}");
                    }

                    order = order.Add($"w{w % 2}-item{i % 5}", "worker-" + w, i); // the same items from several writers
                    await provider.MergeAsync(scope, "progress", counter);
                    await provider.MergeAsync(scope, "steps", seen);
                    await provider.MergeAsync(scope, "order", order);
                }

                await provider.MergeAsync(scope, "progress", counter); // the same copy again: no change
            })).ToArray();
            await Task.WhenAll(writers);

            foreach (var instance in instances)
            {
                // Through L1 an instance may answer from its copy until the other instance's last change notice arrives.
                var progress = (await instance.GetAsync<PNCounter>(scope, "progress"))!.Value;
                for (var wait = 0; throughL1 && progress.Value != 80 && wait < 200; wait++)
                {
                    await Task.Delay(50);
                    progress = (await instance.GetAsync<PNCounter>(scope, "progress"))!.Value;
                }

                Assert.That(progress.Value, Is.EqualTo(80), "8 writers x 10 increments, each counted once, on each instance");
            }

            var steps = (await instances[1].GetAsync<ORSet<string>>(scope, "steps"))!.Value;
            Assert.That(steps.Elements, Has.Count.EqualTo(8 * 6), "every add kept, every observed remove applied");
            Assert.That(steps.Contains("w3-step3"), Is.False);
            Assert.That(steps.Contains("w3-step4"), Is.True);
            var order = (await instances[0].GetAsync<UniqueList<string>>(scope, "order"))!.Value;
            Assert.That(order.Items, Is.EquivalentTo(Enumerable.Range(0, 2).SelectMany(g => Enumerable.Range(0, 5).Select(i => $"w{g}-item{i}"))), "each item once, however many writers added it");
        });
    }
}
