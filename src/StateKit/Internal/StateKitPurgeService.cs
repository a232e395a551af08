using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace StateKit.Internal;

/// <summary>Purges expired entries from the registered store on <see cref="StateKitOptions.PurgeInterval"/>.</summary>
internal sealed partial class StateKitPurgeService(
    IStateStore store,
    IOptions<StateKitOptions> options,
    TimeProvider timeProvider,
    ILogger<StateKitPurgeService>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.PurgeInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    var removed = await store.PurgeExpiredAsync(stoppingToken).ConfigureAwait(false);
                    LogPurged(_logger, store.Name, removed);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogPurgeFailed(_logger, ex, store.Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
    }

    [LoggerMessage(1, LogLevel.Debug, "StateKit purged {Count} expired entries from the '{Store}' store.")]
    private static partial void LogPurged(ILogger logger, string store, long count);

    [LoggerMessage(2, LogLevel.Warning, "StateKit could not purge expired entries from the '{Store}' store; it retries on the next interval.")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception, string store);
}
