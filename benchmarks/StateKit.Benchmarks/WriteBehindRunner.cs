using System.Diagnostics;
using System.Diagnostics.Metrics;
using StateKit.Postgres;

namespace StateKit.Benchmarks;

/// <summary>
/// 1 KB session updates (compare-and-set at the version the client holds) by concurrent clients, each with its own
/// session, for a fixed time: straight to PostgreSQL (write-through, the baseline) and through write-behind over the
/// same server. Prints updates per second of both and their ratio, and the flush lag (acknowledgement to PostgreSQL)
/// percentiles from the <c>statekit.writebehind.flush_lag</c> histogram.
/// </summary>
internal static class WriteBehindRunner
{
    public static async Task RunAsync(int seconds, int clients)
    {
        var connection = Environment.GetEnvironmentVariable("STATEKIT_POSTGRES") ?? throw new InvalidOperationException("Set STATEKIT_POSTGRES.");
        var schema = "bench_wb_" + Guid.NewGuid().ToString("N")[..8];
        var journal = Directory.CreateTempSubdirectory("statekit-wb-bench-").FullName;
        var lags = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == StateKitTelemetry.WriteBehindFlushLag)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
        {
            lock (lags)
            {
                lags.Add(value * 1000);
            }
        });
        listener.Start();
        try
        {
            var options = new PostgresStateStoreOptions { ConnectionString = connection, Schema = schema };
            double through;
            await using (var postgres = new PostgresStateStore(options))
            {
                through = await UpdatesPerSecondAsync(postgres, "through", seconds, clients);
            }

            double behind;
            long flushed;
            await using (var store = new WriteBehindStateStore(new PostgresStateStore(options), new WriteBehindOptions { JournalDirectory = journal }))
            {
                behind = await UpdatesPerSecondAsync(store, "behind", seconds, clients);
                await store.FlushAsync();
                flushed = store.Flushed;
            }

            lags.Sort();
            Console.WriteLine($"Session updates on PostgreSQL, 1 KB, {clients} clients each with its own session, {seconds} s per contender:");
            Console.WriteLine();
            Console.WriteLine("| contender | updates/s | ratio |");
            Console.WriteLine("|---|---:|---:|");
            Console.WriteLine($"| write-through (PostgresStateStore) | {through:N0} | 1.00 |");
            Console.WriteLine($"| write-behind (journal fsync, group commit) | {behind:N0} | {behind / through:0.0} |");
            Console.WriteLine();
            Console.WriteLine($"Flushes to PostgreSQL: {flushed:N0} (coalesced); flush lag p50 {Percentile(lags, 0.5):0.0} ms, p99 {Percentile(lags, 0.99):0.0} ms, max {lags.LastOrDefault():0.0} ms.");
        }
        finally
        {
            Directory.Delete(journal, recursive: true);
            await using var dataSource = Npgsql.NpgsqlDataSource.Create(connection);
            await using var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
            await drop.ExecuteNonQueryAsync();
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * p))];

    private static async Task<double> UpdatesPerSecondAsync(IStateStore store, string name, int seconds, int clients)
    {
        var value = new byte[1024];
        Random.Shared.NextBytes(value);
        var versions = new long[clients];
        for (var c = 0; c < clients; c++)
        {
            versions[c] = await store.SetAsync($"sessions/{name}/{c}", value);
        }

        long updates = 0;
        var until = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var key = $"sessions/{name}/{c}";
            while (until.Elapsed.TotalSeconds < seconds)
            {
                versions[c] = await store.SetAsync(key, value, new StateWriteOptions(versions[c], TimeSpan.FromMinutes(20)));
                Interlocked.Increment(ref updates);
            }
        })));
        return updates / until.Elapsed.TotalSeconds;
    }
}
