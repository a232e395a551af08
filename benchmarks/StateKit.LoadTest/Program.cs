using System.Globalization;
using StateKit.LoadTest;

// StateKit load test. Prints markdown tables; exits non-zero when a client saw an error or an update was lost.
//   dotnet run -c Release --project benchmarks/StateKit.LoadTest -- [--quick] [--stores memory,redis,postgres] [--seconds 15] [--invalidation-only] [--cleanup-only]
// Redis and PostgreSQL come from STATEKIT_REDIS / STATEKIT_POSTGRES (benchmarks/run.sh starts both).
var quick = args.Contains("--quick");
var invalidationOnly = args.Contains("--invalidation-only");
var stores = Option("--stores", "memory,redis,postgres").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
var seconds = int.Parse(Option("--seconds", quick ? "5" : "15"), CultureInfo.InvariantCulture);
var sessions = int.Parse(Option("--sessions", quick ? "10000" : "100000"), CultureInfo.InvariantCulture);
var clients = int.Parse(Option("--clients", "1000"), CultureInfo.InvariantCulture);

Console.WriteLine($"# StateKit load test ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
Console.WriteLine();
Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; ~1 KB chat-session state.");
Console.WriteLine();

if (args.Contains("--cleanup-only"))
{
    Console.WriteLine("## Session cleanup (memory store)");
    Console.WriteLine();
    await CleanupMeasurement.RunAsync(quick ? 10_000 : 100_000);
    return 0;
}

if (invalidationOnly)
{
    await InvalidationDelaysAsync();
    return 0;
}

var failed = false;
Console.WriteLine($"## {sessions:N0} live sessions");
Console.WriteLine();
Console.WriteLine("| store | memory per session | create /s | get /s | update /s |");
Console.WriteLine("|---|---:|---:|---:|---:|");
foreach (var store in stores)
{
    Console.WriteLine(await SessionScale.RunAsync(store, sessions));
}

Console.WriteLine();
Console.WriteLine($"## {clients:N0} concurrent clients, get → update → append to history, {seconds} s per store");
Console.WriteLine();
Console.WriteLine("| store | loops /s | p50 | p99 | p99.9 | errors | lost updates |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
foreach (var store in stores)
{
    var result = await ConcurrentClients.RunAsync(store, clients, TimeSpan.FromSeconds(seconds));
    Console.WriteLine(result.Row);
    failed |= result.Errors > 0 || result.LostUpdates > 0;
    foreach (var error in result.FirstErrors)
    {
        Console.Error.WriteLine($"{store}: {error}");
    }
}

await InvalidationDelaysAsync();
Console.WriteLine();
Console.WriteLine("## Session cleanup (memory store)");
Console.WriteLine();
await CleanupMeasurement.RunAsync(quick ? 10_000 : 100_000);
return failed ? 1 : 0;

async Task InvalidationDelaysAsync()
{
    Console.WriteLine();
    Console.WriteLine("## Invalidation delay: a write on instance A → its notice on instance B (change feed)");
    Console.WriteLine();
    Console.WriteLine("| store | writes | p50 | p99 | p99.9 |");
    Console.WriteLine("|---|---:|---:|---:|---:|");
    foreach (var store in stores.Where(s => s is "redis" or "postgres"))
    {
        Console.WriteLine(await InvalidationDelay.RunAsync(store, quick ? 1_000 : 5_000));
    }

    Console.WriteLine();
}

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
