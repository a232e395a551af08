using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;
using StateKit.Internal;
using StateKit.Tool;

namespace StateKit.Benchmarks;

/// <summary>
/// The statekit tool's throughput (issue 28): <c>export</c> and <c>import</c> on SQLite, PostgreSQL and Redis, each next
/// to a baseline in the same run — the same entries read (export) or written (import) through the store with the same
/// parallelism and no file, what a hand-written dump or load program does — and a migration (<c>copy</c>) of many
/// entries from SQLite to PostgreSQL next to a hand-written bulk copy (read everything, write in batches of 500).
/// Entries are 256-byte values in scopes of 10; one list of 10 items per 100 entries. The times include the tool's own
/// listing of the store (its inventory) and, for the baselines, the same listing.
/// </summary>
internal static class TransferRunner
{
    public static async Task RunAsync(int entries, int migrateEntries, string[] kinds)
    {
        Console.WriteLine($"statekit export / import, {entries:N0} entries of 256 B + {entries / 100:N0} lists of 10 items:");
        Console.WriteLine();
        Console.WriteLine("| store | export entries/s | MB/s (file) | baseline read entries/s | export ÷ baseline time | import entries/s | baseline write entries/s | import ÷ baseline time |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var kind in kinds)
        {
            await using var source = Target.Create(kind, "src");
            await SeedAsync(source, entries);
            await BaselineReadAsync(source); // a first read of freshly written rows costs more on PostgreSQL (hint bits): not measured
            double export = double.MaxValue, read = double.MaxValue, import = double.MaxValue, write = double.MaxValue;
            long fileBytes = 0;
            for (var round = 0; round < 2; round++)
            {
                // Contender and baseline take turns; the faster of two rounds counts for each.
                var file = Path.Combine(Path.GetTempPath(), $"statekit-bench-{Guid.NewGuid():N}.skx");
                try
                {
                    export = Math.Min(export, await TimeAsync(() => Tool("export", "--store", source.Spec, file)));
                    fileBytes = new FileInfo(file).Length;
                    read = Math.Min(read, await TimeAsync(() => BaselineReadAsync(source)));
                    await using var target = Target.Create(kind, "dst");
                    import = Math.Min(import, await TimeAsync(() => Tool("import", "--store", target.Spec, file)));
                    await using var baselineTarget = Target.Create(kind, "raw");
                    write = Math.Min(write, await TimeAsync(() => BaselineWriteAsync(source, baselineTarget)));
                }
                finally
                {
                    System.IO.File.Delete(file);
                }
            }

            var total = entries + (entries / 100);
            Console.WriteLine($"| {kind} | {total / export:N0} | {fileBytes / 1e6 / export:N1} | {total / read:N0} | {export / read:0.00} | {total / import:N0} | {total / write:N0} | {import / write:0.00} |");
        }

        if (migrateEntries > 0)
        {
            Console.WriteLine();
            Console.WriteLine($"statekit copy, SQLite → PostgreSQL, {migrateEntries:N0} entries of 256 B (+ {migrateEntries / 100:N0} lists), then the comparison of both stores:");
            Console.WriteLine();
            await using var source = Target.Create("sqlite", "msrc");
            await using var target = Target.Create("postgres", "mdst");
            await using var baselineTarget = Target.Create("postgres", "mraw");
            await SeedAsync(source, migrateEntries);
            var stopwatch = Stopwatch.StartNew();
            var (exit, output) = await ToolOutput("copy", "--from", source.Spec, "--to", target.Spec, "--json");
            var copyTotal = stopwatch.Elapsed.TotalSeconds;
            var report = JsonDocument.Parse(output).RootElement;
            var copySeconds = report.GetProperty("copySeconds").GetDouble();
            var write = await TimeAsync(() => BaselineWriteAsync(source, baselineTarget));
            Console.WriteLine("| | seconds | entries/s | ÷ hand-written bulk copy |");
            Console.WriteLine("|---|---:|---:|---:|");
            Console.WriteLine($"| statekit copy (copy + catch-up) | {copySeconds:N1} | {migrateEntries / copySeconds:N0} | {copySeconds / write:0.00} |");
            Console.WriteLine($"| statekit copy with its comparison | {copyTotal:N1} | {migrateEntries / copyTotal:N0} | {copyTotal / write:0.00} |");
            Console.WriteLine($"| hand-written bulk copy (read all, SetMany 500) | {write:N1} | {migrateEntries / write:N0} | 1.00 |");
            Console.WriteLine($"exit {exit}, verified: {report.GetProperty("verified").GetString()}, differences: {report.GetProperty("differences").GetInt32()}");
        }
    }

    private static async Task SeedAsync(Target target, int entries)
    {
        await using var opened = await target.OpenAsync();
        var value = new byte[256];
        Random.Shared.NextBytes(value);
        for (var start = 0; start < entries; start += 500)
        {
            var writes = Enumerable.Range(start, Math.Min(500, entries - start)).Select(i => new StateWrite($"session/s{i / 10:D7}/v/k{i % 10}", value)).ToList();
            // One shard per batch is not needed here (one Redis server), so a batch spans scopes.
            await opened.Store.SetManyAsync(writes);
        }

        for (var i = 0; i < entries / 100; i++)
        {
            await opened.Store.ListAppendAsync($"session/s{i:D7}/l/chat", Enumerable.Range(0, 10).Select(_ => (ReadOnlyMemory<byte>)value.AsMemory(0, 64)).ToList());
        }
    }

    /// <summary>Every entry and list read through the store, 500 keys per GetMany (what export does, without the file).</summary>
    private static async Task BaselineReadAsync(Target source)
    {
        await using var opened = await source.OpenAsync();
        var inventory = await StoreInventory.ReadAsync(opened.Store, string.Empty, CancellationToken.None);
        long bytes = 0;
        foreach (var chunk in inventory.Entries.Chunk(500))
        {
            foreach (var entry in (await opened.Store.GetManyAsync(chunk)).Values)
            {
                bytes += entry.Value.Length;
            }
        }

        foreach (var list in inventory.Lists)
        {
            bytes += (await opened.Store.ListRangeAsync(list.Key)).Count;
        }

        GC.KeepAlive(bytes);
    }

    /// <summary>Every entry read and written to the other store in batches of 500 (SetMany), lists appended whole.</summary>
    private static async Task BaselineWriteAsync(Target source, Target target)
    {
        await using var from = await source.OpenAsync();
        await using var to = await target.OpenAsync();
        var inventory = await StoreInventory.ReadAsync(from.Store, string.Empty, CancellationToken.None);
        foreach (var chunk in inventory.Entries.Chunk(500))
        {
            var read = await from.Store.GetManyAsync(chunk);
            await to.Store.SetManyAsync(read.Values.Select(e => new StateWrite(e.Key, e.Value)).ToList());
        }

        foreach (var list in inventory.Lists)
        {
            await to.Store.ListAppendAsync(list.Key, await from.Store.ListRangeAsync(list.Key));
        }
    }

    private static async Task<double> TimeAsync(Func<Task> work)
    {
        var stopwatch = Stopwatch.StartNew();
        await work();
        return stopwatch.Elapsed.TotalSeconds;
    }

    private static async Task Tool(params string[] args)
    {
        var (exit, output) = await ToolOutput(args);
        if (exit != 0)
        {
            throw new InvalidOperationException($"statekit {string.Join(' ', args)} exited {exit}: {output}");
        }
    }

    private static async Task<(int Exit, string Output)> ToolOutput(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        IAnsiConsole Console(TextWriter writer) => AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No });
        var exit = await ToolApp.RunAsync(args, Console(output), Console(errors), CancellationToken.None);
        return (exit, output + errors.ToString());
    }

    /// <summary>A store the tool opens from a configuration file, removed afterwards.</summary>
    private sealed class Target : IAsyncDisposable
    {
        private readonly string _directory;
        private readonly Func<Task> _remove;

        private Target(string directory, string spec, Func<Task> remove)
        {
            _directory = directory;
            Spec = spec;
            _remove = remove;
        }

        public string Spec { get; }

        public static Target Create(string kind, string name)
        {
            var id = name + Guid.NewGuid().ToString("N")[..8];
            var directory = Directory.CreateTempSubdirectory("statekit-bench-transfer-").FullName;
            object store;
            Func<Task> remove = () => Task.CompletedTask;
            switch (kind)
            {
                case "sqlite":
                    store = new { Type = "sqlite", ConnectionString = "Data Source=" + Path.Combine(directory, "state.db") };
                    remove = () =>
                    {
                        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                        return Task.CompletedTask;
                    };
                    break;
                case "postgres":
                    var connection = Environment.GetEnvironmentVariable("STATEKIT_POSTGRES") ?? throw new InvalidOperationException("Set STATEKIT_POSTGRES.");
                    var schema = "bench_tr_" + id;
                    store = new { Type = "postgres", ConnectionString = connection, Schema = schema };
                    remove = async () =>
                    {
                        await using var dataSource = Npgsql.NpgsqlDataSource.Create(connection);
                        await using var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                        await drop.ExecuteNonQueryAsync();
                    };
                    break;
                default:
                    var redis = Environment.GetEnvironmentVariable("STATEKIT_REDIS") ?? throw new InvalidOperationException("Set STATEKIT_REDIS.");
                    var prefix = "bench-tr-" + id;
                    store = new { Type = "redis", ConnectionString = redis, RedisKeyPrefix = prefix };
                    remove = async () =>
                    {
                        await using var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis + ",allowAdmin=true");
                        var server = multiplexer.GetServers()[0];
                        var db = multiplexer.GetDatabase();
                        foreach (var batch in server.Keys(pattern: prefix + "*", pageSize: 1000).Chunk(1000))
                        {
                            await db.KeyDeleteAsync(batch);
                        }
                    };
                    break;
            }

            var path = Path.Combine(directory, "appsettings.json");
            System.IO.File.WriteAllText(path, JsonSerializer.Serialize(new { StateKit = new { KeyPrefix = "bench", Telemetry = false, Store = store } }));
            return new Target(directory, path, remove);
        }

        public Task<OpenedStore> OpenAsync() => StoreOpener.OpenAsync(Spec, "StateKit", null, CancellationToken.None);

        public async ValueTask DisposeAsync()
        {
            await _remove();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
