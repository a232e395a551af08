using System.Diagnostics;
using Npgsql;
using StateKit.Postgres;

namespace StateKit.Benchmarks;

/// <summary>
/// PostgreSQL write-through under 1, 16 and 64 clients (issue 29): 1 KB session updates, each client on its own key,
/// for a fixed slice per contender, the contenders taking turns for several rounds so the machine's drift hits all of
/// them alike. Contenders: a hand-written single-row UPSERT (the baseline), the same UPSERT with <c>pg_notify</c> in
/// the statement (what a hand-written change feed costs), and StateKit's conditional update (as a session update does)
/// with no change-feed subscriber anywhere and with one (a second store instance subscribed, as an L1 tier would be).
/// Same durability everywhere (synchronous commit, one statement per update). Prints updates/s and the two ratios.
/// </summary>
internal static class PostgresWriteRunner
{
    private const string RawTable = "bench_pgw_raw";

    public static async Task RunAsync(double seconds, int rounds)
    {
        var connection = Environment.GetEnvironmentVariable("STATEKIT_POSTGRES") ?? throw new InvalidOperationException("Set STATEKIT_POSTGRES.");
        var schema = "bench_pgw_" + Guid.NewGuid().ToString("N")[..8];
        var builder = new NpgsqlDataSourceBuilder(connection);
        builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
        builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        builder.ConnectionStringBuilder.MaxPoolSize = 100;
        await using var raw = builder.Build();
        var storeConnection = new NpgsqlConnectionStringBuilder(connection) { MaxPoolSize = 100 }.ConnectionString;
        var options = new PostgresStateStoreOptions { ConnectionString = storeConnection, Schema = schema };
        await using (var setup = raw.CreateCommand($"""
            DROP TABLE IF EXISTS {RawTable};
            CREATE TABLE {RawTable} (ns text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, value bytea NOT NULL, version bigint NOT NULL, expires_at bigint, PRIMARY KEY (ns, key));
            """))
        {
            await setup.ExecuteNonQueryAsync();
        }

        var value = new byte[1024];
        Random.Shared.NextBytes(value);
        try
        {
            Console.WriteLine($"PostgreSQL write-through, 1 KB updates, each client on its own key; {rounds} rounds of {seconds:0.#} s per contender, taking turns:");
            Console.WriteLine();
            Console.WriteLine("| clients | UPSERT | UPSERT + pg_notify | StateKit, no subscriber | ratio to UPSERT | StateKit, a subscriber | ratio to UPSERT + notify |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var clients in new[] { 1, 16, 64 })
            {
                var totals = new double[4];
                var times = new double[4];
                for (var round = 0; round < rounds; round++)
                {
                    (totals[0], times[0]) = Add(totals[0], times[0], await RunAsync(clients, seconds, (c, ct) => UpsertAsync(raw, c, value, notify: false, ct)));
                    (totals[1], times[1]) = Add(totals[1], times[1], await RunAsync(clients, seconds, (c, ct) => UpsertAsync(raw, c, value, notify: true, ct)));
                    await using (var store = new PostgresStateStore(options))
                    {
                        (totals[2], times[2]) = Add(totals[2], times[2], await StoreRunAsync(store, clients, seconds, value));
                    }

                    await using (var store = new PostgresStateStore(options))
                    await using (var other = new PostgresStateStore(options))
                    {
                        var notices = 0L;
                        await using var subscription = await other.SubscribeAsync(string.Empty, (_, _) =>
                        {
                            Interlocked.Increment(ref notices);
                            return ValueTask.CompletedTask;
                        });
                        (totals[3], times[3]) = Add(totals[3], times[3], await StoreRunAsync(store, clients, seconds, value));
                        if (Interlocked.Read(ref notices) == 0)
                        {
                            throw new InvalidOperationException("The subscribed instance received no notice: the measurement with a subscriber is not what it claims.");
                        }
                    }
                }

                var rate = totals.Select((t, i) => t / times[i]).ToArray();
                Console.WriteLine($"| {clients} | {rate[0]:N0} | {rate[1]:N0} | {rate[2]:N0} | {rate[2] / rate[0]:0.00} | {rate[3]:N0} | {rate[3] / rate[1]:0.00} |");
            }
        }
        finally
        {
            await using var drop = raw.CreateCommand($"DROP TABLE IF EXISTS {RawTable}; DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
            await drop.ExecuteNonQueryAsync();
        }
    }

    private static (double Count, double Seconds) Add(double count, double time, (long Count, double Seconds) slice) => (count + slice.Count, time + slice.Seconds);

    private static async Task<(long Count, double Seconds)> StoreRunAsync(IStateStore store, int clients, double seconds, byte[] value)
    {
        var versions = new long[clients];
        for (var c = 0; c < clients; c++)
        {
            versions[c] = await store.SetAsync($"sessions/s{c}", value, new StateWriteOptions(null, TimeSpan.FromMinutes(20)));
        }

        return await RunAsync(clients, seconds, async (c, ct) =>
            versions[c] = await store.SetAsync($"sessions/s{c}", value, new StateWriteOptions(versions[c], TimeSpan.FromMinutes(20)), ct));
    }

    private static async ValueTask<long> UpsertAsync(NpgsqlDataSource raw, int client, byte[] value, bool notify, CancellationToken cancellationToken)
    {
        const string upsert = $"INSERT INTO {RawTable} (ns, key, value, version, expires_at) VALUES ('bench', @key, @value, 1, @exp) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, version = {RawTable}.version + 1 RETURNING version";
        await using var cmd = raw.CreateCommand(notify ? $"WITH u AS ({upsert}) SELECT version, pg_notify('bench_pgw', 's|' || version || '|bench|' || @key) FROM u" : upsert);
        cmd.Parameters.AddWithValue("key", "sessions/s" + client);
        cmd.Parameters.AddWithValue("value", value);
        cmd.Parameters.AddWithValue("exp", DateTimeOffset.UtcNow.AddMinutes(20).ToUnixTimeMilliseconds());
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<(long Count, double Seconds)> RunAsync(int clients, double seconds, Func<int, CancellationToken, ValueTask<long>> update)
    {
        long updates = 0;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                await update(c, CancellationToken.None);
                Interlocked.Increment(ref updates);
            }
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        var used = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / Math.Max(1, updates);
        if (Environment.GetEnvironmentVariable("BENCH_CPU") == "1")
        {
            Console.Error.WriteLine($"{clients} clients: {updates / elapsed:N0}/s, client CPU {used:0.0} µs per update");
        }

        return (updates, elapsed);
    }
}
