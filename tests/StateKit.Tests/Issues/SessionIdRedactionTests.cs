using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace StateKit.Tests.Issues;

/// <summary>
/// A live session id is a bearer secret (issue 30, item 2): a failing session request shows it nowhere — not in the
/// exception messages, the logs, or the span status and tags — only its first four characters.
/// </summary>
public sealed class SessionIdRedactionTests
{
    public sealed record Chat(int Turns);

    [Test]
    public async Task AFailingSessionRequest_ShowsTheIdNowhere()
    {
        var id = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == StateKitTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var logs = new ConcurrentQueue<string>();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(new QueueLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace));
        var wrongPassword = new Npgsql.NpgsqlConnectionStringBuilder(TestServers.Postgres) { Password = "wrong" }.ConnectionString;
        services.AddStateKit().UsePostgres(wrongPassword, o => o.MaxAttempts = 1).AddSessions<Chat>();
        await using var provider = services.BuildServiceProvider();
        var sessions = provider.GetRequiredService<ISessionManager<Chat>>();

        var error = await Assert.ThrowsAsync<StateStoreConfigurationException>(async () => await sessions.GetAsync(id));
        var notFound = new SessionNotFoundException(id);
        Assert.That(error!.ToString(), Does.Not.Contain(id).And.Contain(id[..4] + "…"), "the exception (and its inner ones)");
        Assert.That(notFound.Message, Does.Not.Contain(id));
        Assert.That(spans, Is.Not.Empty);
        foreach (var span in spans)
        {
            Assert.That(span.StatusDescription ?? string.Empty, Does.Not.Contain(id), "span status");
            Assert.That(span.TagObjects.Select(t => t.Value?.ToString() ?? string.Empty), Has.None.Contains(id), "span tags");
            Assert.That(span.Events.SelectMany(e => e.Tags).Select(t => t.Value?.ToString() ?? string.Empty), Has.None.Contains(id), "span events");
        }

        Assert.That(logs, Has.None.Contains(id), "logs");
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(lines);

        public void Dispose()
        {
        }

        private sealed class QueueLogger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception) + " " + exception);
        }
    }
}
