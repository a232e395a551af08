using BenchmarkDotNet.Running;
using StateKit.Benchmarks;

// Server benchmarks read STATEKIT_POSTGRES and STATEKIT_REDIS (as the tests do).
// "--paired [rounds] [store]" runs each StateKit operation and its raw baseline alternately in one loop and prints medians:
// on a shared, noisy machine this keeps the ratio honest where separate BenchmarkDotNet runs drift.
if (args.Length > 0 && args[0] == "--paired")
{
    await PairedRunner.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000,
        args.Length > 2 ? args[2] : string.Empty);
    return;
}

// "--encryption [rounds]" runs a get and a set plain and encrypted, alternating, on the memory store and on Redis.
if (args.Length > 0 && args[0] == "--encryption")
{
    await EncryptionBenchmarks.RunPairedAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5000);
    return;
}

// "--counters [seconds] [writers]" compares a compare-and-set counter with a PN-counter under contention on Redis.
if (args.Length > 0 && args[0] == "--counters")
{
    await CounterContentionRunner.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 16);
    return;
}

// "--session-redis [rounds] [gap ms]" runs a session request on Redis for StateKit, ASP.NET Core's session and FusionCache, alternating.
if (args.Length > 0 && args[0] == "--session-redis")
{
    await SessionRequestRunner.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000,
        args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0);
    return;
}

// "--session-memory [rounds]" runs the session request in process: StateKit, ASP.NET Core's session, HybridCache, FusionCache.
if (args.Length > 0 && args[0] == "--session-memory")
{
    await SessionRequestRunner.RunInProcessAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20000);
    return;
}

// "--spill [sessions]" loads a memory store with a 1 MB budget ten times over and reads everything back.
if (args.Length > 0 && args[0] == "--spill")
{
    await SpillRunner.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000);
    return;
}

// "--write-behind [seconds] [clients]" compares session updates on PostgreSQL, write-through and write-behind.
if (args.Length > 0 && args[0] == "--write-behind")
{
    await WriteBehindRunner.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 16);
    return;
}

// "--pg-writes [seconds] [rounds]" compares PostgreSQL write-through with a hand-written UPSERT at 1, 16 and 64 clients.
if (args.Length > 0 && args[0] == "--pg-writes")
{
    await PostgresWriteRunner.RunAsync(
        args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}

// "--transfer [entries] [migrate entries] [kinds]" measures the statekit tool: export/import per store and a SQLite → PostgreSQL copy.
if (args.Length > 0 && args[0] == "--transfer")
{
    await TransferRunner.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0,
        args.Length > 3 ? args[3].Split(',') : ["sqlite", "postgres", "redis"]);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point.</summary>
public partial class Program;
