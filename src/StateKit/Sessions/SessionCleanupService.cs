using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StateKit.Internal;

/// <summary>Runs <see cref="ISessionManager{TSession}.CleanupExpiredAsync"/> every <see cref="SessionOptions.CleanupInterval"/>.</summary>
/// <typeparam name="TSession">The state type.</typeparam>
internal sealed class SessionCleanupService<TSession>(
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
                    Log.SessionsCleaned(_logger, typeof(TSession).Name, expired);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.SessionCleanupFailed(_logger, ex, typeof(TSession).Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
    }
}

/// <summary>The validated <see cref="SessionOptions"/> of one session type.</summary>
/// <typeparam name="TSession">The state type.</typeparam>
/// <param name="Value">The options.</param>
internal sealed record SessionOptionsFor<TSession>(SessionOptions Value);
