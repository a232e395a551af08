using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.AspNetCore;
using StateKit.Redis;

namespace StateKit.Tests.AspNetCore;

/// <summary>StateKit exceptions as ProblemDetails, ETag/If-Match helpers, and the health endpoint.</summary>
public sealed class HttpMappingTests
{
    private const string Secret = "secret-store-name";
    private const string SecretKey = "tenant-7/secret-key";

    public static IEnumerable<TestCaseData> Exceptions()
    {
        yield return Case(new StateConflictException(Secret, "Set", SecretKey, 3, 5), 409);
        yield return Case(new StateStoreUnavailableException(Secret, "Get", SecretKey, "Host=db.internal;Password=hunter2 refused"), 503);
        yield return Case(new InvalidStateKeyException(Secret, SecretKey, "Get", "bad"), 400);
        yield return Case(new InvalidSessionIdException("AAAA" + SecretKey), 400);
        yield return Case(new SessionNotFoundException("AAAA" + SecretKey), 404);
        yield return Case(new StateNotFoundException("checkpoint " + SecretKey + " of " + Secret), 404);
        yield return Case(new SessionLimitExceededException(10), 429);
        yield return Case(new StateStoreConfigurationException(Secret, "Get", SecretKey, "Host=db.internal;Password=hunter2 refused"), 500);
        yield return Case(new StateValueTooLargeException(Secret, "Set", SecretKey, 10, 5), 413);
        yield return Case(new SessionStateTooLargeException(10, 5), 413);
        yield return Case(new StateValidationException(StateScope.Global, SecretKey, ["name is required"]), 422);
        yield return Case(new StateAccessDeniedException(StateAccess.Write, StateScope.Global, SecretKey, "mallory"), 403);
        yield return Case(new StateCorruptedException(Secret, "Get", SecretKey, "bad checksum"), 500);
        yield return Case(new StateSchemaVersionException(Secret, SecretKey, 9, 1), 500);
        yield return Case(new StateEncryptionKeyNotFoundException(Secret, "Get", SecretKey, "key-2026-" + Secret), 500);
        yield return Case(new StateTypeVersionException(SecretKey, "Profile", 4, 3, "written by a newer version " + Secret), 500);
        yield return Case(new StateStoreException("Host=db.internal;Password=hunter2", Secret, "Get", SecretKey), 500);
    }

    [TestCaseSource(nameof(Exceptions))]
    public async Task StateKitExceptions_AreProblemDetails_WithoutStoreDetails(Exception exception, int status)
    {
        await using var web = await StartAsync(app => app.MapGet("/fail", IResult () => throw exception));
        using var response = await web.Client.GetAsync("/fail");
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(status), body);
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(status));
        Assert.That(problem.GetProperty("title").GetString(), Is.Not.Empty);
        Assert.That(body, Does.Not.Contain(Secret).And.Not.Contain("secret-key").And.Not.Contain("hunter2").And.Not.Contain("db.internal").And.Not.Contain("mallory"));
        switch (exception)
        {
            case StateConflictException:
                // ASP.NET Core's exception handler strips cache headers (ETag among them) from error answers: the
                // version is in the body. (A session save that fails in an endpoint filter carries the ETag too.)
                Assert.That(problem.GetProperty("currentVersion").GetInt64(), Is.EqualTo(5));
                break;
            case StateStoreUnavailableException:
                Assert.That(response.Headers.RetryAfter!.Delta, Is.EqualTo(TimeSpan.FromSeconds(StateKitProblems.RetryAfterSeconds)));
                break;
            case StateValidationException:
                Assert.That(problem.GetProperty("errors")[0].GetString(), Is.EqualTo("name is required"));
                break;
        }
    }

    [Test]
    public async Task OtherExceptions_AreLeftToTheNextHandler()
    {
        await using var web = await StartAsync(app => app.MapGet("/fail", IResult () => throw new FormatException("not ours")));
        using var response = await web.Client.GetAsync("/fail");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("not ours"));
    }

    [TestCase(null, null)]
    [TestCase("*", null)]
    [TestCase("\"3\"", 3L)]
    [TestCase(" \"42\" ", 42L)]
    public void IfMatch_ReadsOneStrongVersionETag(string? header, long? expected)
    {
        var context = new DefaultHttpContext();
        if (header is not null)
        {
            context.Request.Headers.IfMatch = header;
        }

        Assert.That(context.Request.GetIfMatchVersion(), Is.EqualTo(expected));
    }

    [TestCase("3")]
    [TestCase("W/\"3\"")]
    [TestCase("\"abc\"")]
    [TestCase("\"0\"")]
    [TestCase("\"-1\"")]
    [TestCase("\"1\", \"2\"")]
    [TestCase("\"\"")]
    public void IfMatch_Malformed_Is400(string header)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.IfMatch = header;
        var error = Assert.Throws<BadHttpRequestException>(() => context.Request.GetIfMatchVersion());
        Assert.That(error!.StatusCode, Is.EqualTo(400));
    }

    [Test]
    public void IfNoneMatch_AndETagFormatting()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.IfNoneMatch = "\"2\", W/\"7\"";
        Assert.That((context.Request.IfNoneMatchHas(7), context.Request.IfNoneMatchHas(2), context.Request.IfNoneMatchHas(3)), Is.EqualTo((true, true, false)));
        context.Response.SetETag(12);
        Assert.That(context.Response.Headers.ETag.ToString(), Is.EqualTo("\"12\""));
        Assert.Throws<ArgumentOutOfRangeException>(() => StateKitHttpExtensions.ToETag(0));
    }

    [Test]
    public async Task ETagEndpoints_RoundTripVersions_AndAStaleIfMatchIs409()
    {
        await using var web = await StartAsync(app =>
        {
            app.MapGet("/doc", async (HttpContext http, IStateProvider state) =>
            {
                var doc = await state.GetAsync<string>(StateScope.Global, "doc");
                if (doc is null)
                {
                    return Results.NotFound();
                }

                if (http.Request.IfNoneMatchHas(doc.Version))
                {
                    return Results.StatusCode(304);
                }

                http.Response.SetETag(doc.Version);
                return Results.Ok(doc.Value);
            });
            app.MapPut("/doc", async (HttpContext http, IStateProvider state, string text) =>
            {
                var version = await state.SetAsync(StateScope.Global, "doc", text, new StateSetOptions<string> { ExpectedVersion = http.Request.GetIfMatchVersion() });
                http.Response.SetETag(version);
                return Results.NoContent();
            });
        });

        using var created = await web.Client.PutAsync("/doc?text=one", null);
        var etag = created.Headers.ETag!.Tag;
        using var read = await web.Client.GetAsync("/doc");
        Assert.That((read.Headers.ETag!.Tag, await read.Content.ReadFromJsonAsync<string>()), Is.EqualTo((etag, "one")));
        using var notModified = new HttpRequestMessage(HttpMethod.Get, "/doc") { Headers = { { "If-None-Match", etag } } };
        Assert.That((await web.Client.SendAsync(notModified)).StatusCode, Is.EqualTo(HttpStatusCode.NotModified));

        using var update = new HttpRequestMessage(HttpMethod.Put, "/doc?text=two") { Headers = { { "If-Match", etag } } };
        using var updated = await web.Client.SendAsync(update);
        Assert.That(updated.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        using var stale = new HttpRequestMessage(HttpMethod.Put, "/doc?text=three") { Headers = { { "If-Match", etag } } };
        using var conflict = await web.Client.SendAsync(stale);
        Assert.That(conflict.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        var current = (await conflict.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("currentVersion").GetInt64();
        Assert.That($"\"{current}\"", Is.EqualTo(updated.Headers.ETag!.Tag), "the 409 names the current version");
        using var final = await web.Client.GetAsync("/doc");
        Assert.That(await final.Content.ReadFromJsonAsync<string>(), Is.EqualTo("two"), "the stale write changed nothing");
    }

    [Test]
    public async Task Health_OfADecoratedRedisStore_IsHealthy_AndAnUnreachableOneIs503()
    {
        await using (var healthy = await StartHealthAsync(TestServers.Redis))
        {
            using var response = await healthy.Client.GetAsync("/health");
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
            Assert.That(body.GetProperty("status").GetString(), Is.EqualTo("Healthy"));
            Assert.That(body.GetProperty("checks").GetProperty("statekit").GetProperty("status").GetString(), Is.EqualTo("Healthy"));
        }

        await using var down = await StartHealthAsync("127.0.0.1:1,connectTimeout=500");
        using var unhealthy = await down.Client.GetAsync("/health");
        var text = await unhealthy.Content.ReadAsStringAsync();
        Assert.That(unhealthy.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), text);
        Assert.That(text, Does.Contain("Unhealthy").And.Not.Contain("127.0.0.1"), "no connection details in the health answer");
    }

    private static Task<WebTestApp> StartHealthAsync(string redis)
    {
        var store = new RedisStateStore(new RedisStateStoreOptions { Configuration = redis, RedisKeyPrefix = "sktest-health", KeyPrefix = "h" + Guid.NewGuid().ToString("N")[..8], OperationTimeout = TimeSpan.FromSeconds(1) });
        return WebTestApp.StartAsync(
            store,
            builder => builder.Services.AddStateKit().Decorate((inner, _) => new Provider.NonDisposingStore(inner)).AddHealthCheck(),
            app => app.MapStateKitHealth());
    }

    private static TestCaseData Case(Exception exception, int status) => new TestCaseData(exception, status).SetArgDisplayNames(exception.GetType().Name);

    private static Task<WebTestApp> StartAsync(Action<WebApplication> map) =>
        WebTestApp.StartAsync(
            new MemoryStateStore(),
            builder => builder.Services.AddStateKitProblemDetails(),
            app =>
            {
                app.UseExceptionHandler();
                map(app);
            });
}
