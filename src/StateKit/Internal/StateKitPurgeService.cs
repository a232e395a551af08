using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace StateKit.Internal;

/// <summary>
/// Purges expired entries on <see cref="StateKitOptions.PurgeInterval"/> from the registered store (which, with tier
/// routing, purges the routed stores too) and from the named stores no tier routes to.
/// </summary>
internal sealed class StateKitPurgeService(
    IServiceProvider services,
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

        var routed = options.Value.Tiers.Values.ToHashSet(StringComparer.Ordinal);
        IStateStore[] stores =
        [
            services.GetRequiredService<IStateStore>(),
            .. (services.GetService<StateKitMarker>()?.StoreNames ?? []).Where(n => !routed.Contains(n)).Select(n => services.GetRequiredKeyedService<IStateStore>(n)),
        ];
        using var timer = new PeriodicTimer(interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                foreach (var store in stores)
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
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
    }
}
