using System.Collections.Concurrent;
using System.Diagnostics;
using StateKit.Benchmarks;

namespace StateKit.LoadTest;

/// <summary>
/// How long after a write on instance A its notice reaches instance B (two store objects on one Redis or PostgreSQL,
/// as two app instances have): the delay an L1 tier on B can answer the old value. Measured from the moment A's write
/// returned to the moment B's subscriber ran, one write at a time.
/// </summary>
internal static class InvalidationDelay
{
    public static async Task<string> RunAsync(string kind, int writes)
    {
        var created = BenchmarkStore.Create(kind);
        if (created.Twin is null)
        {
            return $"| {kind} | (no second instance) | | | |";
        }

        await using var a = created.Store;
        await using var b = created.Twin();
        var arrived = new ConcurrentDictionary<long, long>();
        await using var subscription = await b.GetService<IStateChangeFeed>()!.SubscribeAsync("delay/", (change, _) =>
        {
            if (change.Kind == StateStoreChangeKind.Set)
            {
                arrived.TryAdd(change.Version, Stopwatch.GetTimestamp());
            }

            return ValueTask.CompletedTask;
        });

        var delays = new List<double>(writes);
        var value = new byte[1024];
        for (var i = 0; i < writes + 100; i++)
        {
            var version = await a.SetAsync("delay/k", value);
            var acknowledged = Stopwatch.GetTimestamp();
            var deadline = acknowledged + Stopwatch.Frequency * 5;
            long at;
            while (!arrived.TryGetValue(version, out at))
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"{kind}: no notice for version {version} within 5 s");
                }

                await Task.Yield();
            }

            if (i >= 100)
            {
                delays.Add(Math.Max(0, Stopwatch.GetElapsedTime(acknowledged, at).TotalMicroseconds)); // the first 100 warm up
            }
        }

        await created.RemoveData();
        delays.Sort();
        string Us(double q) => $"{delays[(int)Math.Min(delays.Count - 1, q * delays.Count)]:N0} µs";
        return $"| {kind} | {writes:N0} | {Us(0.5)} | {Us(0.99)} | {Us(0.999)} |";
    }
}
