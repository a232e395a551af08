// StateKit console sample: a chat session that survives a restart of the program.
// Run it twice; the second run finds the session, its state and its conversation again.
//
//   dotnet run --project samples/StateKit.Samples.Console [state-directory] [--telemetry]
//
// With --telemetry, StateKit's metrics and spans are exported by OpenTelemetry's console exporter.
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StateKit;

var telemetry = args.Contains("--telemetry");
args = args.Where(a => a != "--telemetry").ToArray();
var directory = args.Length > 0 ? args[0] : Path.Combine(Environment.CurrentDirectory, "statekit-data");
Directory.CreateDirectory(directory);

// StateKit's meter and activity source are both named "StateKit" (StateKitTelemetry); any OpenTelemetry exporter takes them.
using var tracing = telemetry ? Sdk.CreateTracerProviderBuilder().AddSource(StateKitTelemetry.ActivitySourceName).AddConsoleExporter().Build() : null;
using var metrics = telemetry ? Sdk.CreateMeterProviderBuilder().AddMeter(StateKitTelemetry.MeterName).AddConsoleExporter().Build() : null;

var services = new ServiceCollection();
services.AddStateKit(o => o.KeyPrefix = "sample")
        .UseFileSystem(directory)              // drop this line and the same code runs in memory
        .AddSessions<ChatSession>(o => o.IdleTimeout = TimeSpan.FromDays(7));

await using var provider = services.BuildServiceProvider();
var sessions = provider.GetRequiredService<ISessionManager<ChatSession>>();
var state = provider.GetRequiredService<IStateProvider>();

// 1. A session: the id is kept in a file here, the way a web app keeps it in a cookie.
var idFile = Path.Combine(directory, "session-id.txt");
var session = await sessions.GetOrCreateAsync(File.Exists(idFile) ? await File.ReadAllTextAsync(idFile) : null);
await File.WriteAllTextAsync(idFile, session.Id);
Console.WriteLine(session.IsNew
    ? "First run: a new session was created."
    : $"Welcome back: this session has had {session.State.Turns} turns, the last at {session.State.LastTurnUtc:u}.");

// 2. Typed session state, updated with optimistic retries (safe when several processes share the directory).
session = await sessions.UpdateAsync(session, s => s with { Turns = s.Turns + 1, LastTurnUtc = DateTimeOffset.UtcNow });

// 3. The conversation: a typed list in the session's scope (deleted with the session).
await state.AppendAsync(session.Scope, "chat", [new Message("user", $"Hello, this is turn {session.State.Turns}."), new Message("assistant", "Hi! Noted.")]);

// 4. A checkpoint before something risky, and a restore when it goes wrong.
var checkpoint = await state.CreateCheckpointAsync(session.Scope, "before-tool-call");
await state.AppendAsync(session.Scope, "chat", [new Message("tool", "a half-finished tool call")]);
Console.WriteLine($"Before the restore the conversation has {await state.CountAsync(session.Scope, "chat")} messages.");
await state.RestoreCheckpointAsync(session.Scope, checkpoint.Id);
await state.DeleteCheckpointAsync(session.Scope, checkpoint.Id);
Console.WriteLine($"After restoring '{checkpoint.Name}' it has {await state.CountAsync(session.Scope, "chat")}: the tool call is gone.");

Console.WriteLine($"Session {session.Id}, turn {session.State.Turns}. State is kept in {directory}");
Console.WriteLine("Last messages:");
foreach (var message in await state.GetRangeAsync<Message>(session.Scope, "chat", -4, -1))
{
    Console.WriteLine($"  {message.Role}: {message.Text}");
}

// Export the metrics now, while the session counters can still be read (the container disposes StateKit's meter).
metrics?.ForceFlush();

/// <summary>The sample's session state.</summary>
/// <param name="Turns">How many turns the session has had.</param>
/// <param name="LastTurnUtc">When the last turn was.</param>
internal sealed record ChatSession(int Turns = 0, DateTimeOffset? LastTurnUtc = null);

/// <summary>One chat message.</summary>
/// <param name="Role">user, assistant or tool.</param>
/// <param name="Text">The text.</param>
internal sealed record Message(string Role, string Text);
