using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StateKit;

/// <summary>
/// Probes an <see cref="IStateStore"/> with a real round trip: writes a short-lived probe entry, reads it back
/// and deletes it. Register it with <c>services.AddHealthChecks().AddCheck&lt;StateStoreHealthCheck&gt;("statekit")</c>.
/// </summary>
public sealed class StateStoreHealthCheck : IHealthCheck
{
    /// <summary>The key prefix of probe entries; they expire on their own after one minute if a delete is lost.</summary>
    public const string ProbeKeyPrefix = "statekit-health/";

    private readonly IStateStore _store;

    /// <summary>Initializes a new instance of the <see cref="StateStoreHealthCheck"/> class.</summary>
    /// <param name="store">The store to probe.</param>
    public StateStoreHealthCheck(IStateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var key = ProbeKeyPrefix + Guid.NewGuid().ToString("N");
        var probe = Guid.NewGuid().ToByteArray();
        var watch = Stopwatch.StartNew();
        var data = new Dictionary<string, object> { ["store"] = _store.Name };
        try
        {
            await _store.SetAsync(key, probe, new StateWriteOptions(0, TimeSpan.FromMinutes(1)), cancellationToken).ConfigureAwait(false);
            var read = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            await _store.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            data["roundTripMs"] = watch.Elapsed.TotalMilliseconds;
            if (read is null || !read.Value.Span.SequenceEqual(probe))
            {
                return HealthCheckResult.Unhealthy($"The '{_store.Name}' store did not return the probe entry it had just written.", data: data);
            }

            if (_store.GetService<IFallbackStatus>() is { IsOnFallback: true } chain)
            {
                data["fallbackIndex"] = chain.ActiveIndex;
                data["pendingReplay"] = chain.PendingReplay;
                return HealthCheckResult.Degraded($"The '{_store.Name}' store is down: a fallback (#{chain.ActiveIndex}) serves, and {chain.PendingReplay} changed keys wait to be replayed.", data: data);
            }

            return HealthCheckResult.Healthy($"The '{_store.Name}' store wrote, read and deleted a probe entry.", data);
        }
        catch (Exception ex) when (ex is StateStoreException or IOException or TimeoutException)
        {
            return new HealthCheckResult(context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy, $"The '{_store.Name}' store failed its probe: {ex.Message}", ex, data);
        }
    }
}
