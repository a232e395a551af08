using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StateKit.Internal;

/// <summary>Runs <see cref="ISessionManager{TSession}.CleanupExpiredAsync"/> every <see cref="SessionOptions.CleanupInterval"/>.</summary>
/// <typeparam name="TSession">The state type.</typeparam>
internal sealed partial class SessionCleanupService<TSession>(
    ISessionManager<TSession> sessions,
    SessionOptionsFor<TSession> options,
    TimeProvider timeProvider,
    ILogger<SessionCleanupService<TSession>>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = logger ?? NullLogger<SessionCleanupService<TSession>>.Instance;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CleanupInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    var expired = await sessions.CleanupExpiredAsync(stoppingToken).ConfigureAwait(false);
                    LogCleaned(_logger, typeof(TSession).Name, expired);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogCleanupFailed(_logger, ex, typeof(TSession).Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Debug, Message = "Session cleanup for {SessionType} removed {Count} expired sessions.")]
    private static partial void LogCleaned(ILogger logger, string sessionType, int count);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Session cleanup for {SessionType} failed; it runs again at the next interval.")]
    private static partial void LogCleanupFailed(ILogger logger, Exception exception, string sessionType);
}

/// <summary>The validated <see cref="SessionOptions"/> of one session type.</summary>
/// <typeparam name="TSession">The state type.</typeparam>
/// <param name="Value">The options.</param>
internal sealed record SessionOptionsFor<TSession>(SessionOptions Value);
