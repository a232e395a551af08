using System.Diagnostics;

namespace StateKit.Benchmarks;

/// <summary>
/// The memory budget under a load ten times its size: 1 KB session values written to a memory store with a 1 MB budget
/// (each write past it spills the least recently used entries to files), then every value read back in random order
/// (each read restores one and spills another). Prints entries per second for both phases, beside the same work on the
/// memory store with no budget (the runtime baseline), and the largest resident byte count seen against the budget.
/// </summary>
internal static class SpillRunner
{
    public static async Task RunAsync(int sessions)
    {
        const long budget = 1024 * 1024;
        var root = Directory.CreateTempSubdirectory("statekit-spill-bench-").FullName;
        try
        {
            var value = new byte[1024];
            Random.Shared.NextBytes(value);
            var keys = Enumerable.Range(0, sessions).Select(i => $"sessions/bench/{i:x8}").ToArray();
            var order = keys.OrderBy(_ => Random.Shared.Next()).ToArray();

            await using var plain = new MemoryStateStore();
            var (plainWrite, plainRead) = await RunAsync(plain, keys, order, value, null);
            await using var spilling = new SpillingStateStore(new MemoryStateStore(), new MemoryBudgetOptions { MaxResidentBytes = budget, SpillDirectory = root });
            var peak = 0L;
            var (spillWrite, spillRead) = await RunAsync(spilling, keys, order, value, () => peak = Math.Max(peak, spilling.ResidentBytes));

            Console.WriteLine($"Memory budget: {sessions:N0} sessions of 1 KB ({sessions * 1.1 / 1024:0.0} MB with keys) into a {budget / 1024 / 1024} MB budget.");
            Console.WriteLine();
            Console.WriteLine("| phase | memory store, no budget | memory store, 1 MB budget (spill/restore) | ratio |");
            Console.WriteLine("|---|---:|---:|---:|");
            Console.WriteLine($"| write (past the budget each write spills) | {plainWrite:N0}/s | {spillWrite:N0}/s | {spillWrite / plainWrite:0.000} |");
            Console.WriteLine($"| read in random order (each read restores one, spills one) | {plainRead:N0}/s | {spillRead:N0}/s | {spillRead / plainRead:0.000} |");
            Console.WriteLine();
            Console.WriteLine($"Spills {spilling.Spills:N0}, restores {spilling.Restores:N0}; resident bytes: largest seen {peak:N0} ({(double)peak / budget:P1} of the budget), at the end {spilling.ResidentBytes:N0}.");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<(double Writes, double Reads)> RunAsync(IStateStore store, string[] keys, string[] order, byte[] value, Action? observe)
    {
        var watch = Stopwatch.StartNew();
        foreach (var key in keys)
        {
            await store.SetAsync(key, value);
            observe?.Invoke();
        }

        var writes = keys.Length / watch.Elapsed.TotalSeconds;
        watch.Restart();
        foreach (var key in order)
        {
            _ = await store.GetAsync(key) ?? throw new InvalidOperationException($"{key} is lost");
            observe?.Invoke();
        }

        return (writes, order.Length / watch.Elapsed.TotalSeconds);
    }
}
