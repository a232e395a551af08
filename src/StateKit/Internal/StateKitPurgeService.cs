using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace StateKit.Internal;

/// <summary>Purges expired entries from the registered store on <see cref="StateKitOptions.PurgeInterval"/>.</summary>
internal sealed class StateKitPurgeService(
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
                    Log.Purged(_logger, store.Name, removed);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.PurgeFailed(_logger, ex, store.Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
    }
}
