using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Benchmarks;

/// <summary>
/// Issue 27: 16 writers adding to one counter for a fixed time, on Redis: a compare-and-set counter (read, add one, write
/// at the version read, again on a conflict) vs a PN-counter replica per writer folded in with <c>MergeAsync</c> after
/// every 10 increments. Prints increments per second, stored updates and conflicts.
/// </summary>
internal static class CounterContentionRunner
{
    public static async Task RunAsync(int seconds, int writers)
    {
        Console.WriteLine($"| counter ({writers} writers, {seconds} s, Redis) | increments/s | store updates/s | conflicts | final value = increments |");
        Console.WriteLine("|---|---:|---:|---:|---|");
        foreach (var kind in new[] { "cas", "crdt" })
        {
            var target = BenchmarkStore.Create("redis");
            var services = new ServiceCollection();
            services.AddStateKit(o => o.Telemetry = false).UseStore(_ => target.Store);
            await using var provider = services.BuildServiceProvider();
            var state = provider.GetRequiredService<IStateProvider>();
            var scope = StateScope.Shared("bench");
            long increments = 0, updates = 0, conflicts = 0;
            var stop = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                var mine = new PNCounter();
                while (stop.Elapsed < TimeSpan.FromSeconds(seconds))
                {
                    if (kind == "cas")
                    {
                        while (true)
                        {
                            var entry = await target.Store.GetAsync("cas");
                            var value = entry is null ? 0 : BitConverter.ToInt64(entry.Value.Span);
                            try
                            {
                                await target.Store.SetAsync("cas", BitConverter.GetBytes(value + 1), new StateWriteOptions(entry?.Version ?? 0));
                                break;
                            }
                            catch (StateConflictException)
                            {
                                Interlocked.Increment(ref conflicts);
                            }
                        }

                        Interlocked.Increment(ref updates);
                        Interlocked.Increment(ref increments);
                    }
                    else
                    {
                        for (var i = 0; i < 10; i++)
                        {
                            mine = mine.Add("w" + w, 1);
                        }

                        await state.MergeAsync(scope, "crdt", mine);
                        Interlocked.Add(ref increments, 10);
                        Interlocked.Increment(ref updates);
                    }
                }
            })));
            var elapsed = stop.Elapsed.TotalSeconds;
            var final = kind == "cas"
                ? BitConverter.ToInt64((await target.Store.GetAsync("cas"))!.Value.Span)
                : (await state.GetAsync<PNCounter>(scope, "crdt"))!.Value.Value;
            Console.WriteLine($"| {(kind == "cas" ? "compare-and-set, one increment per write" : "PN-counter, MergeAsync every 10 increments")} | {increments / elapsed:N0} | {updates / elapsed:N0} | {(kind == "cas" ? conflicts.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "(retried inside MergeAsync)")} | {final == increments} ({final:N0}) |");
            await target.RemoveData();
        }
    }
}
