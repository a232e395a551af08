using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using StateKit.AspNetCore;
using StateKit.Testing;

namespace StateKit.Tests.AspNetCore;

/// <summary>
/// The State Explorer's API on every store kind (behind a policy, read-only mode, the action header), and its
/// start-up rules: no policy outside Development, no policy that does not exist.
/// </summary>
[Parallelizable(ParallelScope.Children)]
public sealed class ExplorerTests
{
    public static readonly string[] Kinds = TestStores.Kinds;

    [TestCaseSource(nameof(Kinds))]
    public async Task Api_BrowsesHistoryDiffsRestoresAndForks_OnEveryStore(string kind)
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var store = TestStores.Create(kind, time, out var cleanup);
        try
        {
            await using var app = await ExplorerApp.StartTestServerAsync(store, readOnly: false);
            var checkpoint = await SeedAsync(app.Services.GetRequiredService<IStateProvider>());
            var client = app.Client;
            client.DefaultRequestHeaders.Add(ExplorerApp.UserHeader, "ada;admin");

            var info = await client.GetFromJsonAsync<JsonElement>("/statekit/api/info");
            Assert.That(info.GetProperty("stores")[0].GetProperty("healthy").GetBoolean(), Is.True);
            Assert.That(info.GetProperty("readOnly").GetBoolean(), Is.False);
            var scopes = await client.GetFromJsonAsync<JsonElement>("/statekit/api/scopes?filter=agent");
            Assert.That(scopes.GetProperty("scopes").EnumerateArray().Select(s => s.GetProperty("shard").GetString()), Is.EqualTo(new[] { "persistent/agent-1" }));
            var scope = await client.GetFromJsonAsync<JsonElement>("/statekit/api/scope?shard=persistent/agent-1");
            Assert.That(scope.GetProperty("scope").GetString(), Is.EqualTo("persistent:agent-1"));
            Assert.That(scope.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("valueKey").GetString()), Is.EqualTo(new[] { "profile" }));
            Assert.That(scope.GetProperty("lists").EnumerateArray().Select(e => e.GetProperty("length").GetInt64()), Is.EqualTo(new[] { 2L }), "the notes list");
            Assert.That(scope.GetProperty("checkpoints")[0].GetProperty("id").GetString(), Is.EqualTo(checkpoint));

            var entry = await client.GetFromJsonAsync<JsonElement>("/statekit/api/entry?key=persistent/agent-1/v/profile");
            Assert.That(entry.GetProperty("version").GetInt64(), Is.EqualTo(4));
            Assert.That(entry.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("version").GetInt64()), Is.SupersetOf(new[] { 1L, 2L, 3L }));
            Assert.That(JsonDocument.Parse(entry.GetProperty("value").GetString()!).RootElement.GetProperty("turn").GetInt32(), Is.EqualTo(4));
            var old = await client.GetFromJsonAsync<JsonElement>("/statekit/api/version?key=persistent/agent-1/v/profile&version=2");
            Assert.That(old.GetProperty("value").GetString(), Does.Contain("\"turn\": 2"));
            var diff = await client.GetFromJsonAsync<JsonElement>("/statekit/api/diff?key=persistent/agent-1/v/profile&from=1&to=4");
            Assert.That(diff.EnumerateArray().Select(d => (d.GetProperty("path").GetString(), d.GetProperty("kind").GetString())), Is.EquivalentTo(new[] { ("/turn", "modified"), ("/mood", "added") }));
            var list = await client.GetFromJsonAsync<JsonElement>("/statekit/api/list?key=persistent/agent-1/l/notes");
            Assert.That(list.GetProperty("items").EnumerateArray().Select(i => i.GetString()), Is.EqualTo(new[] { "\"first\"", "\"second\"" }));

            // Actions need the header; then they go through the provider.
            using (var noHeader = await client.PostAsJsonAsync("/statekit/api/checkpoints/restore", new { scope = "persistent:agent-1", id = checkpoint }))
            {
                Assert.That(noHeader.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            }

            using (var restore = await Post(client, "/statekit/api/checkpoints/restore", new { scope = "persistent:agent-1", id = checkpoint }))
            {
                Assert.That(restore.StatusCode, Is.EqualTo(HttpStatusCode.OK), await restore.Content.ReadAsStringAsync());
            }

            var provider = app.Services.GetRequiredService<IStateProvider>();
            Assert.That((await provider.GetAsync<Profile>(StateScope.Persistent("agent-1"), "profile"))!.Value.Turn, Is.EqualTo(3), "restored to the checkpoint");
            Assert.That(app.Audit.Changes.Any(c => c.Kind == StateChangeKind.Restore), Is.True, "the audit sink heard the restore");
            using (var fork = await Post(client, "/statekit/api/checkpoints/fork", new { scope = "persistent:agent-1", id = checkpoint, target = "persistent:agent-2" }))
            {
                Assert.That(fork.StatusCode, Is.EqualTo(HttpStatusCode.OK), await fork.Content.ReadAsStringAsync());
            }

            Assert.That((await provider.GetAsync<Profile>(StateScope.Persistent("agent-2"), "profile"))!.Value.Turn, Is.EqualTo(3));
            using (var again = await Post(client, "/statekit/api/checkpoints/fork", new { scope = "persistent:agent-1", id = checkpoint, target = "persistent:agent-2" }))
            {
                Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), "a fork into a scope that is not empty");
            }

            // Fork from a point in a value's history (no checkpoint): version 2's instant.
            var asOf = entry.GetProperty("history").EnumerateArray().Single(h => h.GetProperty("version").GetInt64() == 2).GetProperty("writtenAt").GetDateTimeOffset();
            using (var fork = await Post(client, "/statekit/api/checkpoints/fork", new { scope = "persistent:agent-1", asOf, target = "persistent:agent-3" }))
            {
                Assert.That(fork.StatusCode, Is.EqualTo(HttpStatusCode.OK), await fork.Content.ReadAsStringAsync());
            }

            Assert.That((await provider.GetAsync<Profile>(StateScope.Persistent("agent-3"), "profile"))!.Value.Turn, Is.EqualTo(2));

            using (var missing = await Post(client, "/statekit/api/checkpoints/restore", new { scope = "persistent:agent-1", id = "nope" }))
            {
                Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            }

            using (var bad = await client.GetAsync("/statekit/api/entry?key=../escape"))
            {
                Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            }
        }
        finally
        {
            await store.DisposeAsync();
            await cleanup();
        }
    }

    [Test]
    public async Task Access_RefusedWithoutThePolicy_PageAssetsAndApi()
    {
        var store = new MemoryStateStore();
        await using var app = await ExplorerApp.StartTestServerAsync(store, readOnly: false);
        foreach (var path in new[] { "/statekit/", "/statekit/assets/explorer.js", "/statekit/api/info", "/statekit/api/scopes" })
        {
            using var anonymous = await app.Client.GetAsync(path);
            Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), path);
            using var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { ExplorerApp.UserHeader, "bob;viewer" } } };
            using var notAdmin = await app.Client.SendAsync(request);
            Assert.That(notAdmin.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), path);
        }

        using var allowed = new HttpRequestMessage(HttpMethod.Get, "/statekit/") { Headers = { { ExplorerApp.UserHeader, "ada;admin" } } };
        using var page = await app.Client.SendAsync(allowed);
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await page.Content.ReadAsStringAsync(), Does.Contain("State Explorer").And.Not.Contain("http://").And.Not.Contain("https://"), "no CDN");
    }

    [Test]
    public async Task ReadOnly_RefusesRestoreAndFork_AndChangesNothing()
    {
        var store = new MemoryStateStore();
        await using var app = await ExplorerApp.StartTestServerAsync(store, readOnly: true);
        var checkpoint = await SeedAsync(app.Services.GetRequiredService<IStateProvider>());
        app.Client.DefaultRequestHeaders.Add(ExplorerApp.UserHeader, "ada;admin");
        Assert.That((await app.Client.GetFromJsonAsync<JsonElement>("/statekit/api/info")).GetProperty("readOnly").GetBoolean(), Is.True);
        using var restore = await Post(app.Client, "/statekit/api/checkpoints/restore", new { scope = "persistent:agent-1", id = checkpoint });
        using var fork = await Post(app.Client, "/statekit/api/checkpoints/fork", new { scope = "persistent:agent-1", id = checkpoint, target = "persistent:agent-2" });
        Assert.That((restore.StatusCode, fork.StatusCode), Is.EqualTo((HttpStatusCode.Forbidden, HttpStatusCode.Forbidden)));
        var provider = app.Services.GetRequiredService<IStateProvider>();
        Assert.That((await provider.GetAsync<Profile>(StateScope.Persistent("agent-1"), "profile"))!.Value.Turn, Is.EqualTo(4));
        Assert.That(await provider.GetAsync<Profile>(StateScope.Persistent("agent-2"), "profile"), Is.Null);
    }

    [Test]
    public void Startup_OutsideDevelopment_NeedsAnExistingPolicy()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Services.AddStateKit();
        builder.Services.AddAuthorization(o => o.AddPolicy("StateAdmins", p => p.RequireAuthenticatedUser()));
        using var app = builder.Build();
        var noPolicy = Assert.Throws<InvalidOperationException>(() => app.MapStateKitExplorer("/statekit"));
        Assert.That(noPolicy!.Message, Does.Contain("authorization policy"));
        var unknown = Assert.Throws<InvalidOperationException>(() => app.MapStateKitExplorer("/statekit", o => o.AuthorizationPolicy = "Nobody"));
        Assert.That(unknown!.Message, Does.Contain("'Nobody' does not exist"));
        Assert.That(() => app.MapStateKitExplorer("/statekit", o => o.AuthorizationPolicy = "StateAdmins"), Throws.Nothing);

        var development = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        development.Services.AddStateKit();
        using var devApp = development.Build();
        Assert.That(() => devApp.MapStateKitExplorer("/statekit"), Throws.Nothing, "in Development the Explorer may be open");
    }

    /// <summary>A value with four versions (history), a checkpoint at version 3, and a list.</summary>
    internal static async Task<string> SeedAsync(IStateProvider provider)
    {
        var agent = StateScope.Persistent("agent-1");
        string? checkpoint = null;
        for (var turn = 1; turn <= 4; turn++)
        {
            await provider.SetAsync(agent, "profile", new Profile("Ada", turn, turn == 4 ? "curious" : null));
            if (turn == 3)
            {
                checkpoint = (await provider.CreateCheckpointAsync(agent, "after turn 3")).Id;
            }
        }

        await provider.AppendAsync(agent, "notes", new[] { "first", "second" });
        return checkpoint!;
    }

    private static Task<HttpResponseMessage> Post(HttpClient client, string path, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("X-StateKit-Explorer", "1");
        return client.SendAsync(request);
    }

    /// <summary>A value whose versions differ.</summary>
    public sealed record Profile(string Name, int Turn, [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Mood = null);
}

/// <summary>An app with the Explorer behind a "StateAdmins" policy (role admin), users from a test header or cookie.</summary>
internal sealed class ExplorerApp : IAsyncDisposable
{
    public const string UserHeader = "X-Test-User";

    private readonly WebTestApp? _testServer;
    private readonly WebApplication? _kestrel;

    private ExplorerApp(WebTestApp? testServer, WebApplication? kestrel, Uri baseAddress, RecordingAudit audit)
    {
        _testServer = testServer;
        _kestrel = kestrel;
        BaseAddress = baseAddress;
        Audit = audit;
    }

    public Uri BaseAddress { get; }

    public HttpClient Client => _testServer!.Client;

    public IServiceProvider Services => _testServer?.Services ?? _kestrel!.Services;

    public RecordingAudit Audit { get; }

    public static async Task<ExplorerApp> StartTestServerAsync(IStateStore store, bool readOnly)
    {
        var audit = new RecordingAudit();
        var app = await WebTestApp.StartAsync(store, builder => Configure(builder.Services, audit), web => Map(web, readOnly), environment: "Production");
        return new ExplorerApp(app, null, app.Client.BaseAddress!, audit);
    }

    /// <summary>The same app on Kestrel on a free loopback port, for a real browser.</summary>
    public static async Task<ExplorerApp> StartKestrelAsync(Action<StateKitBuilder> useStore, bool readOnly)
    {
        var audit = new RecordingAudit();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = Directory.CreateTempSubdirectory("statekit-explorer-root-").FullName });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        useStore(builder.Services.AddStateKit(o => o.Telemetry = false));
        Configure(builder.Services, audit);
        var app = builder.Build();
        Map(app, readOnly);
        app.MapGet("/", () => "a page outside the Explorer (the browser sets its cookie here)");
        await app.StartAsync();
        var address = app.Urls.First();
        return new ExplorerApp(null, app, new Uri(address.TrimEnd('/') + "/"), audit);
    }

    public async ValueTask DisposeAsync()
    {
        if (_testServer is not null)
        {
            await _testServer.DisposeAsync();
        }

        if (_kestrel is not null)
        {
            await _kestrel.StopAsync();
            await _kestrel.DisposeAsync();
        }
    }

    private static void Configure(IServiceCollection services, RecordingAudit audit)
    {
        services.AddSingleton<IStateAuditSink>(audit);
        services.AddAuthentication("Test").AddScheme<AuthenticationSchemeOptions, TestUserHandler>("Test", null);
        services.AddAuthorization(o => o.AddPolicy("StateAdmins", p => p.RequireAuthenticatedUser().RequireRole("admin")));
    }

    private static void Map(WebApplication app, bool readOnly)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapStateKitExplorer("/statekit", o =>
        {
            o.AuthorizationPolicy = "StateAdmins";
            o.ReadOnly = readOnly;
        });
    }

    /// <summary>Records the provider's audit calls.</summary>
    internal sealed class RecordingAudit : IStateAuditSink
    {
        public System.Collections.Concurrent.ConcurrentQueue<StateChange> Changes { get; } = new();

        public ValueTask OnChangeAsync(StateChange change, CancellationToken cancellationToken)
        {
            Changes.Enqueue(change);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>A user "name;role" from the X-Test-User header or the test-user cookie; none: anonymous.</summary>
    private sealed class TestUserHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var user = Request.Headers[UserHeader].FirstOrDefault() ?? Uri.UnescapeDataString(Request.Cookies["test-user"] ?? string.Empty);
            if (string.IsNullOrEmpty(user))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var parts = user.Split(';');
            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, parts[0]), new Claim(ClaimTypes.Role, parts.ElementAtOrDefault(1) ?? string.Empty)], "Test");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), "Test")));
        }
    }
}
