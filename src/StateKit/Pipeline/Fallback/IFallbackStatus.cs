namespace StateKit;

/// <summary>
/// The state of a store's fallback chain (<c>UseFallback</c>), for health checks and dashboards:
/// <c>store.GetService&lt;IFallbackStatus&gt;()</c>, <see langword="null"/> when the pipeline has no chain.
/// </summary>
public interface IFallbackStatus
{
    /// <summary>Raised when the chain changes the store it serves from (on a failure, and back on recovery); see also <see cref="FallbackStateStoreOptions.OnSwitch"/>.</summary>
    event EventHandler<FallbackSwitch>? Switched;

    /// <summary>Raised for each key that changed on both sides of an outage, as replay finds it; see also <see cref="FallbackStateStoreOptions.OnConflict"/>.</summary>
    event EventHandler<FallbackConflict>? Conflict;

    /// <summary>Gets the index in the chain of the store it serves from: 0 for the primary.</summary>
    int ActiveIndex { get; }

    /// <summary>Gets a value indicating whether the chain serves from a fallback (health checks report Degraded).</summary>
    bool IsOnFallback { get; }

    /// <summary>Gets how many keys wait to be replayed onto the primary.</summary>
    int PendingReplay { get; }

    /// <summary>Gets how many keys were replayed onto the primary so far.</summary>
    long Replayed { get; }

    /// <summary>Gets how many conflicts replay found so far.</summary>
    long Conflicts { get; }

    /// <summary>Gets how long operations were held during the last switch back to the primary (its last replay pass).</summary>
    TimeSpan LastSwitchBackHold { get; }

    /// <summary>Probes the primary now (instead of waiting for the next probe) and, when it answers, replays the outage onto it and switches back.</summary>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>Whether the chain serves from the primary afterwards.</returns>
    Task<bool> TryRecoverAsync(CancellationToken cancellationToken = default);
}
