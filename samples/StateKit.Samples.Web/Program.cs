// StateKit web sample: a minimal-API chat back end with a small chat page (wwwroot/index.html). The session comes from a
// cookie (or an X-Session-Id header), its typed state counts turns and remembers who signed in, the conversation is a
// list in the session's scope, and checkpoints save and restore the whole session. The store is chosen in
// appsettings.json (SQLite by default, so it runs with no server):
//
//   dotnet run --project samples/StateKit.Samples.Web                          # then open http://localhost:5080
//   dotnet run --project samples/StateKit.Samples.Web -- --StateKit:Store:Type=redis --StateKit:Store:ConnectionString=127.0.0.1:6379
//   dotnet run --project samples/StateKit.Samples.Web -- --Telemetry:Console=true   # StateKit's metrics and spans on the console
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StateKit;
using StateKit.AspNetCore;
using StateKit.Samples.Web;

// appsettings.json and the page are read from beside the app, wherever it is started from; chat.db is made in the
// current directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddStateKit(builder.Configuration.GetSection("StateKit"))   // store, key prefix: appsettings.json
       .AddSessions<ChatSession>(o => o.IdleTimeout = TimeSpan.FromMinutes(30))
       .AddHttpSessions<ChatSession>()                                        // cookie/header options: StateKit:Sessions:Http
       .AddHealthCheck();
builder.Services.AddStateKitProblemDetails();

// A client may not start sessions (or send anything) without bound: 600 API requests a minute per address, then 429.
// Past MaxSessions new sessions are refused (appsettings.json), so a flood never evicts a session in use.
builder.Services.AddRateLimiter(o =>
{
    o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
    o.AddPolicy("per-client", context => System.Threading.RateLimiting.RateLimitPartition.GetFixedWindowLimiter(
        context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
        _ => new System.Threading.RateLimiting.FixedWindowRateLimiterOptions { PermitLimit = 600, Window = TimeSpan.FromMinutes(1) }));
});
if (builder.Configuration.GetValue<bool>("Telemetry:Console"))
{
    // The request spans come from ASP.NET Core's instrumentation; StateKit's store spans are their children.
    builder.Services.AddOpenTelemetry()
           .WithMetrics(m => m.AddMeter(StateKitTelemetry.MeterName).AddConsoleExporter())
           .WithTracing(t => t.AddAspNetCoreInstrumentation().AddSource(StateKitTelemetry.ActivitySourceName).AddConsoleExporter());
}

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages(); // an empty error answer (a malformed JSON body's 400) becomes ProblemDetails too
app.UseRateLimiter();
app.UseDefaultFiles();
app.UseStaticFiles();
app.MapStateKitHealth("/health");

// Every state-changing endpoint takes JSON only: a cross-site form POST (text/plain, form-urlencoded, multipart) cannot
// send it without a CORS preflight, which this app never grants. SameSite=Lax alone does not cover same-site subdomains.
var maxHistory = app.Configuration.GetValue("Chat:MaxHistoryMessages", Chat.MaxHistoryMessages);
var api = app.MapGroup("/api").RequireRateLimiting("per-client");
api.AddEndpointFilter(async (context, next) =>
    HttpMethods.IsGet(context.HttpContext.Request.Method) || context.HttpContext.Request.HasJsonContentType()
        ? await next(context)
        : Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "JSON required", detail: "State-changing requests must send Content-Type: application/json."));

// The page's first call: who is signed in and the conversation so far. Reading stores nothing: a visitor who never
// writes gets no session and no cookie.
api.MapGet("/session", async (SessionContext<ChatSession> session, IStateProvider state) =>
{
    var history = session.Scope is { } scope ? await state.GetRangeAsync<ChatMessage>(scope, Chat.History) : [];
    return new SessionView(!session.IsNew, session.State.User, history.Count / 2, history);
});

// One chat turn: the first one stores the session (and sets the cookie); both messages join the session's history list
// in one atomic append, so concurrent turns on one session, on any instance, lose nothing and need no retry.
api.MapPost("/chat", async (ChatRequest request, SessionContext<ChatSession> session, IStateProvider state) =>
{
    if (string.IsNullOrWhiteSpace(request.Text) || request.Text.Length > Chat.MaxTextLength)
    {
        return Results.ValidationProblem(new Dictionary<string, string[]> { ["text"] = [$"Say something (1 to {Chat.MaxTextLength} characters)."] });
    }

    var saved = await session.CommitAsync();
    var reply = new ChatMessage("assistant", Chat.Reply(request.Text, saved.State));
    var length = await state.AppendAsync(saved.Scope, Chat.History, [new ChatMessage("user", request.Text), reply]);
    if (length > maxHistory)
    {
        length = await state.TrimToLastAsync(saved.Scope, Chat.History, maxHistory); // bounded per session
    }

    return Results.Ok(new ChatAnswer((int)(length / 2), reply.Text, length));
});

// Sign-in: a new session with a new id (the old cookie stops working) that starts empty, so nothing planted before
// sign-in (session fixation: messages, prompt-injection text) reaches the signed-in session.
api.MapPost("/signin", async (SignInRequest request, SessionContext<ChatSession> session) =>
{
    if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 40)
    {
        return Results.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["A name of 1 to 40 characters."] });
    }

    await session.StartNewAsync();
    session.Update(s => s with { User = request.Name.Trim() });
    return Results.Ok(new { user = session.State.User });
});

// Sign-out ends the session: its state, its history and its cookie.
api.MapPost("/signout", async (SessionContext<ChatSession> session) =>
{
    await session.AbandonAsync();
    return Results.NoContent();
});

// Checkpoints of the whole session (state and history); a restore is all-or-nothing.
api.MapPost("/checkpoints", async (SessionContext<ChatSession> session, IStateProvider state) =>
{
    var saved = await session.CommitAsync();
    var checkpoint = await state.CreateCheckpointAsync(saved.Scope, "chat");
    return Results.Ok(new { id = checkpoint.Id, createdAt = checkpoint.CreatedAt });
});
api.MapGet("/checkpoints", async (SessionContext<ChatSession> session, IStateProvider state) =>
    session.Scope is { } scope ? (await state.ListCheckpointsAsync(scope)).OrderBy(c => c.CreatedAt).Select(c => new { id = c.Id, createdAt = c.CreatedAt }) : []);
api.MapPost("/checkpoints/{id}/restore", async (string id, SessionContext<ChatSession> session, IStateProvider state) =>
{
    if (session.Scope is not { } scope)
    {
        return Results.NotFound();
    }

    await state.RestoreCheckpointAsync(scope, id);
    return Results.NoContent();
});

app.Run();
