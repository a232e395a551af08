// StateKit console sample: state that survives a restart of the program.
// Run it twice; the second run reads what the first one wrote.
//
//   dotnet run --project samples/StateKit.Samples.Console [state-directory]
using Microsoft.Extensions.DependencyInjection;
using StateKit;
using StateKit.Serialization;

var directory = args.Length > 0 ? args[0] : Path.Combine(Environment.CurrentDirectory, "statekit-data");

var services = new ServiceCollection();
services.AddStateKit(o => o.KeyPrefix = "sample")
        .UseFileSystem(directory);             // drop this line and the same code runs in memory

await using var provider = services.BuildServiceProvider();
var store = provider.GetRequiredService<IStateStore>();
var codec = provider.GetRequiredService<StateValueCodec>();

// 1. A typed, versioned document updated with optimistic concurrency: read, change, write only if
//    nobody wrote in between (expected version), retry on conflict.
AppState state;
while (true)
{
    var entry = await store.GetAsync("app/state");
    var previous = entry is null ? new AppState(0, null) : codec.Decode<AppState>(entry.Value.Span, "app/state")!;
    state = previous with { Runs = previous.Runs + 1, LastRunUtc = DateTimeOffset.UtcNow };
    try
    {
        await store.SetAsync("app/state", codec.Encode(state), StateWriteOptions.IfVersion(entry?.Version ?? 0));
        Console.WriteLine(previous.LastRunUtc is null
            ? "First run: nothing stored yet."
            : $"Welcome back: this program last ran at {previous.LastRunUtc:u}.");
        break;
    }
    catch (StateConflictException)
    {
        // Another process updated the state between our read and our write: read again.
    }
}

// 2. An append-only list, like a conversation history; read back with Redis-style negative indices.
await store.ListAppendAsync("app/history", [codec.Encode($"run {state.Runs} at {state.LastRunUtc:u}")]);
var lastFive = await store.ListRangeAsync("app/history", -5, -1);

Console.WriteLine($"Run number {state.Runs}. State is kept in {directory}");
Console.WriteLine($"History ({await store.ListLengthAsync("app/history")} runs, last {lastFive.Count}):");
foreach (var item in lastFive)
{
    Console.WriteLine("  " + codec.Decode<string>(item.Span));
}

/// <summary>The sample's state document.</summary>
/// <param name="Runs">How many times the program ran.</param>
/// <param name="LastRunUtc">When it last ran.</param>
internal sealed record AppState(int Runs, DateTimeOffset? LastRunUtc);
