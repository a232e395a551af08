// StateKit web sample: a chat API whose sessions live in SQLite, with StateKit's metrics and spans exported by
// OpenTelemetry's console exporter.
//
//   dotnet run --project samples/StateKit.Samples.Web -- --urls http://127.0.0.1:5080
//   curl -X POST http://127.0.0.1:5080/chat -H 'content-type: application/json' -d '{"text":"hi"}'
//   curl -X POST http://127.0.0.1:5080/chat -H 'X-Session-Id: <id from the first answer>' -H 'content-type: application/json' -d '{"text":"again"}'
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StateKit;

var builder = WebApplication.CreateBuilder(args);
var database = builder.Configuration["StateKit:Database"] ?? Path.Combine(builder.Environment.ContentRootPath, "chat.db");
builder.Services.AddStateKit(o => o.KeyPrefix = "web-sample")
       .UseSqlite(database)
       .AddSessions<ChatSession>(o => o.IdleTimeout = TimeSpan.FromMinutes(30));
builder.Services.AddOpenTelemetry()
       .WithMetrics(m => m.AddMeter(StateKitTelemetry.MeterName).AddConsoleExporter())
       // The request spans come from ASP.NET Core's instrumentation; StateKit's store spans are their children (with the
       // default parent-based sampler, a store span is recorded when its request is).
       .WithTracing(t => t.AddAspNetCoreInstrumentation().AddSource(StateKitTelemetry.ActivitySourceName).AddConsoleExporter());

var app = builder.Build();

// One chat turn: the session comes from the X-Session-Id header (a new one when absent or expired), its turn count is
// updated with optimistic retries, and the message joins the session's history list.
app.MapPost("/chat", async (HttpRequest request, ChatRequest body, ISessionManager<ChatSession> sessions, IStateProvider state) =>
{
    var session = await sessions.GetOrCreateAsync(request.Headers["X-Session-Id"].FirstOrDefault());
    session = await sessions.UpdateAsync(session.Id, s => s with { Turns = s.Turns + 1 });
    await state.AppendAsync(session.Scope, "chat", [new Message("user", body.Text), new Message("assistant", $"Turn {session.State.Turns}: noted.")]);
    var history = await state.GetRangeAsync<Message>(session.Scope, "chat", -4, -1);
    return Results.Ok(new { sessionId = session.Id, turns = session.State.Turns, history });
});

app.Run();

/// <summary>The sample's session state.</summary>
/// <param name="Turns">How many turns the session has had.</param>
internal sealed record ChatSession(int Turns = 0);

/// <summary>A chat request body.</summary>
/// <param name="Text">The user's message.</param>
internal sealed record ChatRequest(string Text);

/// <summary>One chat message.</summary>
/// <param name="Role">user or assistant.</param>
/// <param name="Text">The text.</param>
internal sealed record Message(string Role, string Text);
