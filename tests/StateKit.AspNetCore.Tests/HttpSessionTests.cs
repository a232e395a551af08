using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.AspNetCore;

namespace StateKit.Tests.AspNetCore;

/// <summary>StateKit.AspNetCore's per-request sessions through a real ASP.NET Core pipeline (TestServer), on every store.</summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class HttpSessionTests(string kind) : StoreFixture(kind)
{
    private const string Cookie = "statekit.session";

    [Test]
    public async Task ReadOnlyRequests_WithoutASession_StoreNothingAndSetNoCookie()
    {
        await using var web = await StartAsync();
        for (var i = 0; i < 25; i++)
        {
            using var response = await web.Client.GetAsync("/peek");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Headers.Contains("Set-Cookie"), Is.False, "a request that writes nothing sets no cookie");
            Assert.That(response.Headers.Contains("X-Session-Id"), Is.False);
        }

        Assert.That(await Sessions(web).ListActiveAsync().CountAsync(), Is.Zero, "25 anonymous reads store no session");
    }

    [Test]
    public async Task FirstWrite_CreatesTheSession_WithAnHttpOnlyLaxCookie_AndLaterRequestsContinueIt()
    {
        await using var web = await StartAsync();
        using var first = await web.Client.PostAsync("/inc", null);
        Assert.That(await Count(first), Is.EqualTo(1));
        var setCookie = first.Headers.GetValues("Set-Cookie").Single();
        Assert.That(setCookie, Does.StartWith(Cookie + "="));
        Assert.That(setCookie.ToLowerInvariant(), Does.Contain("httponly").And.Contain("samesite=lax").And.Contain("path=/").And.Not.Contain("secure"), "HttpOnly, SameSite=Lax, not Secure over http");
        var id = first.Headers.GetValues("X-Session-Id").Single();
        Assert.That(web.Cookies.GetCookies(web.Client.BaseAddress!)[Cookie]!.Value, Is.EqualTo(id), "the cookie carries the id the header echoes");

        using var second = await web.Client.PostAsync("/inc", null);
        Assert.That(await Count(second), Is.EqualTo(2), "the cookie continues the session");
        Assert.That(second.Headers.Contains("Set-Cookie"), Is.False, "an existing session's cookie is not rewritten");

        using var client = web.NewClient(out _);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/inc") { Headers = { { "X-Session-Id", id } } };
        using var byHeader = await client.SendAsync(request);
        Assert.That(await Count(byHeader), Is.EqualTo(3), "the header continues it too (an API client without cookies)");
        Assert.That((await Sessions(web).GetAsync(id))!.State.Count, Is.EqualTo(3));
    }

    [Test]
    public async Task AWritingRequest_OnAStoredSession_ReadsItOnceAndWritesItOnce()
    {
        var counter = new OperationCounter();
        await using var web = await StartAsync(configure: b => b.Decorate((store, _) => new CountingStore(store, counter)));
        using var first = await web.Client.PostAsync("/inc", null);
        Assert.That(await Count(first), Is.EqualTo(1));

        counter.Reset();
        using var second = await web.Client.PostAsync("/inc3", null);
        Assert.That(await Count(second), Is.EqualTo(4));
        Assert.That((counter.Reads, counter.Writes), Is.EqualTo((1, 1)), "Get + Set, as ASP.NET Core session does (it was Get + Get + Set)");

        // A mutable state changed in place is not changed twice by the save.
        counter.Reset();
        using var third = await web.Client.PostAsync("/inc", null);
        Assert.That(await Count(third), Is.EqualTo(5));
        Assert.That((await Sessions(web).GetAsync(first.Headers.GetValues("X-Session-Id").Single()))!.State.Count, Is.EqualTo(5));
    }

    [Test]
    public async Task ARequestRacedByAnother_StillAppliesItsChangesOnce_ToTheNewerState()
    {
        await using var web = await StartAsync();
        using var first = await web.Client.PostAsync("/inc", null);
        using var raced = await web.Client.PostAsync("/race", null);
        Assert.That(raced.IsSuccessStatusCode, Is.True);
        var id = first.Headers.GetValues("X-Session-Id").Single();
        Assert.That((await Sessions(web).GetAsync(id))!.State.Count, Is.EqualTo(102), "1 + the other request's 100 + this request's 1, re-applied once on the newer state");
    }

    [Test]
    public async Task Https_MakesTheCookieSecure()
    {
        await using var web = await StartAsync(baseAddress: "https://localhost/");
        using var response = await web.Client.PostAsync("/inc", null);
        Assert.That(response.Headers.GetValues("Set-Cookie").Single().ToLowerInvariant(), Does.Contain("secure"));
    }

    [Test]
    public async Task SeveralUpdatesInOneRequest_AreSavedOnce()
    {
        await using var web = await StartAsync();
        using var created = await web.Client.PostAsync("/inc", null);
        var id = created.Headers.GetValues("X-Session-Id").Single();
        var before = (await Sessions(web).GetAsync(id))!.Version;
        using var response = await web.Client.PostAsync("/inc3", null);
        Assert.That(await Count(response), Is.EqualTo(4));
        var after = await Sessions(web).GetAsync(id);
        Assert.That((after!.State.Count, after.Version), Is.EqualTo((4, before + 1)), "three updates, one write");
    }

    [Test]
    public async Task AConcurrentChange_IsNeverOverwritten_RetryReappliesTheMutator()
    {
        await using var web = await StartAsync();
        using var created = await web.Client.PostAsync("/inc", null);
        using var raced = await web.Client.PostAsync("/race", null);
        Assert.That(raced.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var id = created.Headers.GetValues("X-Session-Id").Single();
        Assert.That((await Sessions(web).GetAsync(id))!.State.Count, Is.EqualTo(1 + 100 + 1), "the other writer's +100 and this request's +1 both count");
    }

    [Test]
    public async Task AConcurrentChange_WithConflictFail_Is409WithTheCurrentVersion_AndNothingIsSaved()
    {
        await using var web = await StartAsync(o => o.Conflict = HttpSessionConflictBehavior.Fail);
        using var created = await web.Client.PostAsync("/inc", null);
        var id = created.Headers.GetValues("X-Session-Id").Single();
        using var raced = await web.Client.PostAsync("/race", null);
        Assert.That(raced.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(raced.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        var problem = await raced.Content.ReadFromJsonAsync<JsonElement>();
        var stored = await Sessions(web).GetAsync(id);
        Assert.That(problem.GetProperty("currentVersion").GetInt64(), Is.EqualTo(stored!.Version));
        Assert.That(raced.Headers.ETag!.Tag, Is.EqualTo($"\"{stored.Version}\""));
        Assert.That(stored.State.Count, Is.EqualTo(101), "only the other writer's change is stored");
    }

    [Test]
    public async Task ConcurrentRequestsOnOneSession_LoseNoUpdate()
    {
        await using var web = await StartAsync();
        using var created = await web.Client.PostAsync("/inc", null);
        var id = created.Headers.GetValues("X-Session-Id").Single();
        var requests = Enumerable.Range(0, 50).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/inc") { Headers = { { "X-Session-Id", id } } };
            using var client = web.NewClient(out _);
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        });
        var codes = await Task.WhenAll(requests);
        Assert.That(codes, Is.All.EqualTo(HttpStatusCode.OK));
        Assert.That((await Sessions(web).GetAsync(id))!.State.Count, Is.EqualTo(51));
    }

    [Test]
    public async Task RegenerateId_RewritesTheCookie_KeepsTheState_AndKillsTheOldId()
    {
        await using var web = await StartAsync();
        using var created = await web.Client.PostAsync("/inc", null);
        var oldId = created.Headers.GetValues("X-Session-Id").Single();
        using var signIn = await web.Client.PostAsync("/signin", null);
        var newId = signIn.Headers.GetValues("X-Session-Id").Single();
        Assert.That(newId, Is.Not.EqualTo(oldId));
        Assert.That(web.Cookies.GetCookies(web.Client.BaseAddress!)[Cookie]!.Value, Is.EqualTo(newId), "the cookie now carries the new id");
        Assert.That(await Count(signIn), Is.EqualTo(2), "the change made in the sign-in request is kept");

        using var next = await web.Client.PostAsync("/inc", null);
        Assert.That(await Count(next), Is.EqualTo(3), "the new cookie continues the state");

        using var attacker = web.NewClient(out _);
        using var fixation = new HttpRequestMessage(HttpMethod.Get, "/peek") { Headers = { { "Cookie", $"{Cookie}={oldId}" } } };
        using var old = await attacker.SendAsync(fixation);
        var seen = await old.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That((seen.GetProperty("count").GetInt32(), seen.GetProperty("isNew").GetBoolean()), Is.EqualTo((0, true)), "the old id no longer works");
        Assert.That(await Sessions(web).GetAsync(oldId), Is.Null);
    }

    [Test]
    public async Task StartNew_GivesANewIdAndAnEmptySession_SoNothingPlantedBeforeSignInSurvives()
    {
        // Issue 30, item 8: an attacker plants a session (with state and a list) in the victim's browser before sign-in.
        await using var web = await StartAsync();
        using var planted = await web.Client.PostAsync("/inc3", null);
        var plantedId = planted.Headers.GetValues("X-Session-Id").Single();
        using (await web.Client.PostAsync("/note?text=ignore%20previous%20instructions", null))
        {
        }

        var plantedScope = (await Sessions(web).GetAsync(plantedId))!.Scope;
        using var signIn = await web.Client.PostAsync("/signin-fresh", null);
        var newId = signIn.Headers.GetValues("X-Session-Id").Single();
        Assert.That(newId, Is.Not.EqualTo(plantedId));
        Assert.That(web.Cookies.GetCookies(web.Client.BaseAddress!)[Cookie]!.Value, Is.EqualTo(newId), "the browser now holds the new id");
        Assert.That(await Count(signIn), Is.EqualTo(1000), "the new session starts from the default state");
        Assert.That(await Sessions(web).GetAsync(plantedId), Is.Null, "the planted session is gone");
        var state = web.Services.GetRequiredService<IStateProvider>();
        Assert.That(await state.GetRangeAsync<string>(plantedScope, "notes"), Is.Empty, "and its planted list with it");
        using var notes = await web.Client.PostAsync("/note?text=hello", null);
        Assert.That(await notes.Content.ReadFromJsonAsync<string[]>(), Is.EqualTo(new[] { "hello" }));
    }

    [TestCase("Production", true)]
    [TestCase("Development", false)]
    public async Task TheCookie_IsSecureOutsideDevelopment_EvenOverPlainHttp(string environment, bool secure)
    {
        // Issue 30, item 7: behind a TLS-terminating proxy the app sees plain http; the Secure flag must not be lost.
        await using var web = await WebTestApp.StartAsync(
            Store,
            builder =>
            {
                builder.Services.AddStateKitProblemDetails();
                builder.Services.AddStateKit().AddSessions<Counter>().AddHttpSessions<Counter>();
            },
            SessionEndpoints.Map,
            "http://localhost/",
            environment);
        using var created = await web.Client.PostAsync("/inc", null);
        var cookie = created.Headers.GetValues("Set-Cookie").Single();
        Assert.That(cookie.Contains("secure", StringComparison.OrdinalIgnoreCase), Is.EqualTo(secure), cookie);
        Assert.That(created.Headers.Contains("X-Session-Id"), Is.False, "the id is echoed in a header only when asked (EchoHeader)");
    }

    [Test]
    public async Task Abandon_DeletesTheSessionAndTheCookie()
    {
        await using var web = await StartAsync();
        using var created = await web.Client.PostAsync("/inc", null);
        var id = created.Headers.GetValues("X-Session-Id").Single();
        using var signOut = await web.Client.PostAsync("/signout", null);
        Assert.That(signOut.Headers.GetValues("Set-Cookie").Single(), Does.Contain("expires=Thu, 01 Jan 1970"), "the cookie is deleted");
        Assert.That(web.Cookies.GetCookies(web.Client.BaseAddress!)[Cookie], Is.Null);
        Assert.That(await Sessions(web).GetAsync(id), Is.Null);
        using var after = await web.Client.GetAsync("/peek");
        Assert.That((await after.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("isNew").GetBoolean(), Is.True);
    }

    [TestCase("not-a-session-id")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAA")]
    [TestCase("../../etc/passwd")]
    [TestCase("%00%0a")]
    public async Task InvalidOrUnknownIds_StartANewSession_AndDropTheDeadCookie(string id)
    {
        await using var web = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/inc") { Headers = { { "Cookie", $"{Cookie}={id}" } } };
        using var response = await web.Client.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await Count(response), Is.EqualTo(1));
        Assert.That(response.Headers.GetValues("X-Session-Id").Single(), Is.Not.EqualTo(id));

        using var read = new HttpRequestMessage(HttpMethod.Get, "/peek") { Headers = { { "Cookie", $"{Cookie}={id}" } } };
        using var client = web.NewClient(out _);
        using var peek = await client.SendAsync(read);
        Assert.That(peek.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(peek.Headers.GetValues("Set-Cookie").Single(), Does.StartWith(Cookie + "=;").And.Contains("expires=Thu, 01 Jan 1970"), "a dead id's cookie is deleted");
    }

    [Test]
    public async Task ExpiredSession_StartsANewOne()
    {
        await using var web = await StartAsync();
        using var created = await web.Client.PostAsync("/inc", null);
        Time.Advance(TimeSpan.FromMinutes(31));
        using var response = await web.Client.PostAsync("/inc", null);
        Assert.That(await Count(response), Is.EqualTo(1), "an expired session is never served");
        Assert.That(response.Headers.GetValues("X-Session-Id").Single(), Is.Not.EqualTo(created.Headers.GetValues("X-Session-Id").Single()));
    }

    [Test]
    public async Task InvalidIdBehaviorThrow_Gives400Or404ProblemDetails_NeverA500()
    {
        await using var web = await StartAsync(sessions: o => o.InvalidId = InvalidSessionIdBehavior.Throw);
        using var malformed = new HttpRequestMessage(HttpMethod.Get, "/peek") { Headers = { { "X-Session-Id", "bad id" } } };
        using var bad = await web.Client.SendAsync(malformed);
        Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(bad.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        using var unknownRequest = new HttpRequestMessage(HttpMethod.Get, "/peek") { Headers = { { "X-Session-Id", "AAAAAAAAAAAAAAAAAAAAAA" } } };
        using var unknown = await web.Client.SendAsync(unknownRequest);
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var body = await unknown.Content.ReadAsStringAsync();
        Assert.That(body, Does.Not.Contain("AAAAAAAAAAAAAAAAAAAAAA").And.Not.Contain("sessions/"), "no id or store key in the answer");
    }

    [Test]
    public async Task ProtectedCookie_IsNotTheId_AndATamperedOneStartsANewSession()
    {
        await using var web = await StartAsync(o => o.ProtectCookie = true);
        using var created = await web.Client.PostAsync("/inc", null);
        var id = created.Headers.GetValues("X-Session-Id").Single();
        var cookie = web.Cookies.GetCookies(web.Client.BaseAddress!)[Cookie]!.Value;
        Assert.That(cookie, Is.Not.EqualTo(id).And.Not.Contain(id));
        using var again = await web.Client.PostAsync("/inc", null);
        Assert.That(await Count(again), Is.EqualTo(2), "the protected cookie continues the session");

        var tampered = cookie[..^2] + (cookie[^2] == 'A' ? "B" : "A") + cookie[^1];
        using var client = web.NewClient(out _);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/inc") { Headers = { { "Cookie", $"{Cookie}={tampered}" } } };
        using var forged = await client.SendAsync(request);
        Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await Count(forged), Is.EqualTo(1), "a tampered cookie is an invalid id: a new session");

        using var raw = new HttpRequestMessage(HttpMethod.Post, "/inc") { Headers = { { "Cookie", $"{Cookie}={id}" } } };
        using var unprotected = await client.SendAsync(raw);
        Assert.That(await Count(unprotected), Is.EqualTo(1), "the bare id in the cookie is refused when cookies are protected");
    }

    [Test]
    public async Task AHandlerThatThrows_SavesNothing()
    {
        await using var web = await StartAsync();
        using var created = await web.Client.PostAsync("/inc", null);
        var id = created.Headers.GetValues("X-Session-Id").Single();
        using var failed = await web.Client.PostAsync("/boom", null);
        Assert.That(failed.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That((await Sessions(web).GetAsync(id))!.State.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task GetSessionAsync_OutsideMinimalApiBinding_SavesWhenTheResponseStarts()
    {
        await using var web = await StartAsync();
        using var first = await web.Client.PostAsync("/raw", null);
        Assert.That(await first.Content.ReadAsStringAsync(), Is.EqualTo("1"));
        Assert.That(first.Headers.Contains("Set-Cookie"), Is.True, "a new session's cookie is set before the body");
        using var second = await web.Client.PostAsync("/raw", null);
        Assert.That(await second.Content.ReadAsStringAsync(), Is.EqualTo("2"));
    }

    [Test]
    public async Task SessionScope_HoldsListsThatEndWithTheSession()
    {
        await using var web = await StartAsync();
        using var first = await web.Client.PostAsync("/note?text=hello", null);
        using var second = await web.Client.PostAsync("/note?text=world", null);
        Assert.That(await second.Content.ReadFromJsonAsync<string[]>(), Is.EqualTo(new[] { "hello", "world" }));
        var id = second.Headers.GetValues("X-Session-Id").Single();
        var scope = (await Sessions(web).GetAsync(id))!.Scope;
        using var signOut = await web.Client.PostAsync("/signout", null);
        Assert.That(await web.Services.GetRequiredService<IStateProvider>().CountAsync(scope, "notes"), Is.Zero, "the session's list ended with it");
    }

    [Test]
    public async Task MissingRegistration_IsAClearError()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = Path.GetTempPath() });
        builder.Services.AddStateKit().UseStore(_ => new Provider.NonDisposingStore(Store)).AddSessions<Counter>();
        await using var app = builder.Build();
        var context = new DefaultHttpContext { RequestServices = app.Services };
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await context.GetSessionAsync<Counter>());
        Assert.That(error!.Message, Does.Contain("AddHttpSessions<Counter>"));
    }

    private static ISessionManager<Counter> Sessions(WebTestApp web) => web.Services.GetRequiredService<ISessionManager<Counter>>();

    private static async Task<int> Count(HttpResponseMessage response)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt32();
    }

    private Task<WebTestApp> StartAsync(Action<HttpSessionOptions>? http = null, Action<SessionOptions>? sessions = null, string baseAddress = "http://localhost/", Action<StateKitBuilder>? configure = null) =>
        WebTestApp.StartAsync(
            Store,
            builder =>
            {
                builder.Services.AddSingleton<TimeProvider>(Time);
                builder.Services.AddStateKitProblemDetails();
                builder.Services.AddStateKit().AddSessions<Counter>(o =>
                {
                    o.IdleTimeout = TimeSpan.FromMinutes(30);
                    sessions?.Invoke(o);
                }).AddHttpSessions<Counter>(o =>
                {
                    o.EchoHeader = true; // these tests are API clients: they read the id from the header
                    o.CookieSecurePolicy = CookieSecurePolicy.SameAsRequest; // and mostly talk plain http
                    http?.Invoke(o);
                });
                configure?.Invoke(builder.Services.AddStateKit());
            },
            SessionEndpoints.Map,
            baseAddress);
}

/// <summary>The test session state.</summary>
/// <param name="Count">A counter.</param>
public sealed record Counter(int Count = 0);

/// <summary>Counts a store's reads and writes.</summary>
internal sealed class OperationCounter
{
    private int _reads;
    private int _writes;

    public int Reads => Volatile.Read(ref _reads);

    public int Writes => Volatile.Read(ref _writes);

    public void Read() => Interlocked.Increment(ref _reads);

    public void Write() => Interlocked.Increment(ref _writes);

    public void Reset()
    {
        Volatile.Write(ref _reads, 0);
        Volatile.Write(ref _writes, 0);
    }
}

/// <summary>A layer that counts the entry reads and writes that reach the store.</summary>
internal sealed class CountingStore(IStateStore inner, OperationCounter counter) : DelegatingStateStore(inner)
{
    public override ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        counter.Read();
        return base.GetAsync(key, cancellationToken);
    }

    public override ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        counter.Read();
        return base.GetManyAsync(keys, cancellationToken);
    }

    public override ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
    {
        counter.Write();
        return base.SetAsync(key, value, options, cancellationToken);
    }

    public override ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        counter.Write();
        return base.SetManyAsync(writes, cancellationToken);
    }

    public override ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        counter.Write();
        return base.TouchAsync(key, timeToLive, cancellationToken);
    }
}

/// <summary>The endpoints the HTTP session tests call.</summary>
internal static class SessionEndpoints
{
    public static void Map(WebApplication app)
    {
        app.UseExceptionHandler();
        app.MapGet("/peek", (SessionContext<Counter> s) => Results.Ok(new { count = s.State.Count, isNew = s.IsNew, id = s.Id }));
        app.MapPost("/inc", (SessionContext<Counter> s) =>
        {
            s.Update(c => c with { Count = c.Count + 1 });
            return Results.Ok(new { count = s.State.Count });
        });
        app.MapPost("/inc3", (SessionContext<Counter> s) =>
        {
            for (var i = 0; i < 3; i++)
            {
                s.Update(c => c with { Count = c.Count + 1 });
            }

            return Results.Ok(new { count = s.State.Count });
        });
        app.MapPost("/race", async (SessionContext<Counter> s, ISessionManager<Counter> sessions) =>
        {
            s.Update(c => c with { Count = c.Count + 1 });
            await sessions.UpdateAsync(s.Id!, c => c with { Count = c.Count + 100 }); // another request, meanwhile
            return Results.Ok(new { count = s.State.Count });
        });
        app.MapPost("/signin", async (SessionContext<Counter> s) =>
        {
            s.Update(c => c with { Count = c.Count + 1 });
            await s.RegenerateIdAsync();
            return Results.Ok(new { count = s.State.Count });
        });
        app.MapPost("/signin-fresh", async (SessionContext<Counter> s) =>
        {
            await s.StartNewAsync();
            s.Update(c => c with { Count = c.Count + 1000 });
            return Results.Ok(new { count = s.State.Count });
        });
        app.MapPost("/signout", async (SessionContext<Counter> s) =>
        {
            await s.AbandonAsync();
            return Results.Ok(new { count = s.State.Count });
        });
        app.MapPost("/boom", (SessionContext<Counter> s) =>
        {
            s.Update(c => c with { Count = c.Count + 1 });
            throw new InvalidOperationException("the handler failed");
        });
        app.MapPost("/raw", async (HttpContext context) =>
        {
            var s = await context.GetSessionAsync<Counter>();
            s.Update(c => c with { Count = c.Count + 1 });
            await context.Response.WriteAsync(s.State.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        app.MapPost("/note", async (string text, SessionContext<Counter> s, IStateProvider state) =>
        {
            var session = await s.CommitAsync();
            await state.AppendAsync(session.Scope, "notes", [text]);
            return Results.Ok(await state.GetRangeAsync<string>(session.Scope, "notes"));
        });
    }
}
