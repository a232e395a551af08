using System.Net;
using System.Net.Http.Json;
using NUnit.Framework;

namespace StateKit.Tests.AspNetCore;

/// <summary>
/// The web sample as two real processes on one shared store (Redis, PostgreSQL), over real HTTP: a session moves between
/// instances, an instance killed mid-conversation loses nothing it acknowledged, and 200 concurrent turns on one
/// session lose no message.
/// </summary>
[TestFixture("redis")]
[TestFixture("postgres")]
public sealed class WebSampleHttpTests(string kind)
{
    private string[] Store() =>
    [
        $"--StateKit:Store:Type={kind}",
        $"--StateKit:Store:ConnectionString={(kind == "redis" ? TestServers.Redis : TestServers.Postgres)}",
        $"--StateKit:KeyPrefix=websample-{Guid.NewGuid():N}",
        "--StateKit:Sessions:Http:EchoHeader=true", // these tests are API clients: the id comes back in X-Session-Id
        "--StateKit:Sessions:Http:CookieSecurePolicy=SameAsRequest", // over plain http on loopback
    ];

    [Test]
    public async Task ASessionStartedOnOneInstance_ContinuesOnTheOther_AndSignInMovesIt()
    {
        var store = Store();
        await using var a = await WebSampleProcess.StartAsync(store);
        await using var b = await WebSampleProcess.StartAsync(store);
        var cookies = new CookieContainer();
        using var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies });

        var first = await Chat(client, a, "hello from A");
        var second = await Chat(client, b, "hello from B");
        Assert.That((second.SessionId, second.Turns, second.Messages), Is.EqualTo((first.SessionId, 2, 4L)), "B continues A's session through the cookie");
        var view = await client.GetFromJsonAsync<View>(new Uri(a.BaseAddress, "/api/session"));
        Assert.That(view!.History.Where(m => m.Role == "user").Select(m => m.Text), Is.EqualTo(new[] { "hello from A", "hello from B" }));

        // Issue 23, item 20: an unknown checkpoint is a 404 ProblemDetails, not a 500.
        using (var unknown = await client.PostAsJsonAsync(new Uri(a.BaseAddress, "/api/checkpoints/no-such-checkpoint/restore"), new { }))
        {
            Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), await unknown.Content.ReadAsStringAsync());
            Assert.That(unknown.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        }

        // Issue 30, item 9: a form post (what a cross-site page can send without a preflight) changes nothing.
        using (var form = await client.PostAsync(new Uri(a.BaseAddress, "/api/signout"), new FormUrlEncodedContent([])))
        {
            Assert.That(form.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        }

        Assert.That((await client.GetFromJsonAsync<View>(new Uri(a.BaseAddress, "/api/session")))!.History, Has.Count.EqualTo(4), "still signed in with its history");

        var oldCookie = cookies.GetCookies(a.BaseAddress)["chat.session"]!.Value;
        using (var signIn = await client.PostAsJsonAsync(new Uri(b.BaseAddress, "/api/signin"), new { name = "Ada" }))
        {
            Assert.That(signIn.StatusCode, Is.EqualTo(HttpStatusCode.OK), await signIn.Content.ReadAsStringAsync());
        }

        Assert.That(cookies.GetCookies(a.BaseAddress)["chat.session"]!.Value, Is.Not.EqualTo(oldCookie), "sign-in regenerates the id");
        var afterSignIn = await client.GetFromJsonAsync<View>(new Uri(a.BaseAddress, "/api/session"));
        Assert.That((afterSignIn!.User, afterSignIn.History.Count), Is.EqualTo(("Ada", 0)), "instance A follows the new id; nothing from before sign-in carries over (issue 30, item 8)");

        using var stranger = new HttpClient();
        using var replay = new HttpRequestMessage(HttpMethod.Get, new Uri(a.BaseAddress, "/api/session")) { Headers = { { "Cookie", "chat.session=" + oldCookie } } };
        using var replayed = await stranger.SendAsync(replay);
        var old = await replayed.Content.ReadFromJsonAsync<View>();
        Assert.That((old!.HasSession, old.History.Count), Is.EqualTo((false, 0)), "the old cookie no longer works");
    }

    [Test]
    public async Task KillingAnInstanceMidConversation_LosesNothingAcknowledged()
    {
        // Every message kept: the workers may send more than the sample's default 200-message history holds before A
        // dies (it did once in CI), and this test counts every acknowledged message.
        string[] store = [.. Store(), "--Chat:MaxHistoryMessages=100000"];
        await using var a = await WebSampleProcess.StartAsync(store);
        await using var b = await WebSampleProcess.StartAsync(store);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var sessionId = (await Chat(client, b, "start")).SessionId;

        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var text = $"w{w}-{n}";
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(a.BaseAddress, "/api/chat")) { Content = JsonContent.Create(new { text }), Headers = { { "X-Session-Id", sessionId } } };
                    using var response = await client.SendAsync(request);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        acknowledged.Add(text);
                    }
                    else
                    {
                        errors.Add($"{text}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return; // A is gone: this request was not acknowledged
                }
            }
        })).ToArray();

        while (acknowledged.Count < 60)
        {
            await Task.Delay(10);
        }

        a.Kill(); // SIGKILL, with requests in flight
        stop.Cancel();
        await Task.WhenAll(workers);

        var view = await Session(client, b, sessionId);
        var said = view.History.Where(m => m.Role == "user").Select(m => m.Text).ToList();
        Assert.That(errors, Is.Empty, "a live instance answered every request with 200");
        Assert.That(acknowledged, Has.Count.GreaterThanOrEqualTo(60));
        foreach (var text in acknowledged)
        {
            Assert.That(said.Count(t => t == text), Is.EqualTo(1), $"acknowledged '{text}' is in the history exactly once");
        }

        Assert.That(said.Distinct().Count(), Is.EqualTo(said.Count), "no message twice");
        for (var i = 0; i < view.History.Count; i += 2)
        {
            Assert.That((view.History[i].Role, view.History[i + 1].Role, view.History[i + 1].Text), Is.EqualTo(("user", "assistant", "Echo: " + view.History[i].Text)), "each turn is stored whole");
        }

        var next = await Chat(client, b, "still here", sessionId);
        Assert.That(next.Messages, Is.EqualTo(view.History.Count + 2), "B carries on");
    }

    [Test]
    public async Task ForBrowsers_TheIdIsOnlyInTheHttpOnlyCookie_NeverInAHeaderOrABody()
    {
        // Issue 30, item 6: any script on the page can read a response header or a JSON body.
        await using var a = await WebSampleProcess.StartAsync([.. Store().Where(arg => !arg.Contains("EchoHeader", StringComparison.Ordinal) && !arg.Contains("CookieSecurePolicy", StringComparison.Ordinal))]);
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false });
        using var response = await client.PostAsJsonAsync(new Uri(a.BaseAddress, "/api/chat"), new { text = "hello" });
        var body = await response.Content.ReadAsStringAsync();
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("chat.session=", StringComparison.Ordinal));
        var id = cookie["chat.session=".Length..cookie.IndexOf(';', StringComparison.Ordinal)];
        Assert.That(cookie, Does.Contain("httponly"));
        Assert.That(cookie, Does.Contain("secure"), "Secure outside Development even over plain http (a TLS-terminating proxy in front; issue 30, item 7)");
        Assert.That(response.Headers.Contains("X-Session-Id"), Is.False);
        Assert.That(body, Does.Not.Contain(id).And.Not.Contain("sessionId"));
    }

    [Test]
    public async Task AConversation_KeepsItsNewestMessages_UpToTheLimit()
    {
        // Issue 30, item 9: the sample trims each session's history, so no client grows it without bound.
        string[] store = [.. Store(), "--Chat:MaxHistoryMessages=6"];
        await using var a = await WebSampleProcess.StartAsync(store);
        using var client = new HttpClient();
        var sessionId = (await Chat(client, a, "t0")).SessionId;
        for (var i = 1; i < 10; i++)
        {
            await Chat(client, a, "t" + i, sessionId);
        }

        var view = await Session(client, a, sessionId);
        Assert.That(view.History.Where(m => m.Role == "user").Select(m => m.Text), Is.EqualTo(new[] { "t7", "t8", "t9" }));
    }

    [Test]
    public async Task TwoHundredConcurrentTurnsOnOneSession_AcrossBothInstances_LoseNoMessage()
    {
        string[] store = [.. Store(), "--Chat:MaxHistoryMessages=1000"]; // every message kept, to count them
        await using var a = await WebSampleProcess.StartAsync(store);
        await using var b = await WebSampleProcess.StartAsync(store);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var sessionId = (await Chat(client, a, "start")).SessionId;

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Chat(client, i % 2 == 0 ? a : b, $"m{i}", sessionId)));
        Assert.That(answers.Select(x => x.Messages).Distinct().Count(), Is.EqualTo(200), "every append saw its own length");

        var view = await Session(client, a, sessionId);
        Assert.That(view.History, Has.Count.EqualTo(2 + 400));
        var said = view.History.Where(m => m.Role == "user").Select(m => m.Text).ToHashSet();
        Assert.That(Enumerable.Range(0, 200).All(i => said.Contains($"m{i}")), Is.True, "all 200 messages are there");
    }

    private static async Task<Answer> Chat(HttpClient client, WebSampleProcess instance, string text, string? sessionId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(instance.BaseAddress, "/api/chat")) { Content = JsonContent.Create(new { text }) };
        if (sessionId is not null)
        {
            request.Headers.Add("X-Session-Id", sessionId);
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var answer = System.Text.Json.JsonSerializer.Deserialize<AnswerBody>(body, System.Text.Json.JsonSerializerOptions.Web)!;
        return new Answer(response.Headers.GetValues("X-Session-Id").Single(), answer.Turns, answer.Reply, answer.Messages);
    }

    private static async Task<View> Session(HttpClient client, WebSampleProcess instance, string sessionId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(instance.BaseAddress, "/api/session")) { Headers = { { "X-Session-Id", sessionId } } };
        using var response = await client.SendAsync(request);
        return (await response.Content.ReadFromJsonAsync<View>())!;
    }

    private sealed record Answer(string SessionId, int Turns, string Reply, long Messages);

    private sealed record AnswerBody(int Turns, string Reply, long Messages);

    private sealed record Message(string Role, string Text);

    private sealed record View(bool HasSession, string? User, int Turns, List<Message> History);
}
