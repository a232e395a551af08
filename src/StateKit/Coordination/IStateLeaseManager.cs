namespace StateKit;

/// <summary>
/// Leases (exclusive locks with a time to live) on named resources, kept in a state store so that every instance of the
/// application sees them, with a fencing token per grant. Registered by <c>AddStateKit()</c> on the default store; or
/// <c>new StateLeaseManager(store)</c>.
/// </summary>
/// <remarks>
/// <para>
/// At most one live holder per resource at a time, as the store decides: acquiring, renewing and releasing are
/// conditional writes of one entry (<c>leases/{resource}</c>). An expired lease is taken over by the next caller.
/// </para>
/// <para>
/// The time to live gives liveness, not safety: a holder paused past its lease (a GC pause, a stalled VM) may still
/// believe it holds it. Safety comes from the <see cref="StateLease.FencingToken"/>, which strictly increases with every
/// grant of a resource (across holders, instances and restarts of a durable store): make the writes the lease protects
/// conditional on it (<see cref="StateFencingExtensions.SetFencedAsync"/>), and a paused holder's late write is refused.
/// </para>
/// </remarks>
public interface IStateLeaseManager
{
    /// <summary>Tries to take the lease on <paramref name="resource"/>, waiting up to <paramref name="wait"/> for its holder to release it or for it to expire.</summary>
    /// <param name="resource">The resource name (a state key: 1 to 512 characters, no control characters).</param>
    /// <param name="timeToLive">How long the lease lasts unless renewed.</param>
    /// <param name="wait">How long to keep trying; <see cref="TimeSpan.Zero"/> for one try.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The lease, or <see langword="null"/> when another holder kept it.</returns>
    ValueTask<StateLease?> TryAcquireAsync(string resource, TimeSpan timeToLive, TimeSpan wait = default, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs <paramref name="work"/> under the lease on <paramref name="resource"/> (waiting for it as long as
    /// <paramref name="cancellationToken"/> allows), renewing it every third of <paramref name="timeToLive"/>; when a
    /// renewal fails (the lease was lost), the token given to <paramref name="work"/> is cancelled. The lease is released
    /// at the end.
    /// </summary>
    /// <typeparam name="T">The work's result.</typeparam>
    /// <param name="resource">The resource name.</param>
    /// <param name="timeToLive">The lease's time to live.</param>
    /// <param name="work">The work: use the lease's fencing token for the writes it protects, and stop when the token is cancelled.</param>
    /// <param name="cancellationToken">Stops waiting, and the work.</param>
    /// <returns>The work's result.</returns>
    /// <exception cref="StateLeaseLostException">The lease was lost while the work ran (the work's token was cancelled).</exception>
    Task<T> RunAsync<T>(string resource, TimeSpan timeToLive, Func<StateLease, CancellationToken, Task<T>> work, CancellationToken cancellationToken = default);
}
