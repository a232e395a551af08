namespace StateKit;

/// <summary>
/// A lease held on a resource (<see cref="IStateLeaseManager"/>). Renew it before <see cref="ExpiresAt"/>; dispose or
/// release it when done. Its <see cref="FencingToken"/> is larger than that of every earlier grant of the resource.
/// </summary>
public sealed class StateLease : IAsyncDisposable
{
    private readonly StateLeaseManager _manager;

    internal StateLease(StateLeaseManager manager, string resource, string holder, long fencingToken, DateTimeOffset expiresAt)
    {
        _manager = manager;
        Resource = resource;
        Holder = holder;
        FencingToken = fencingToken;
        ExpiresAt = expiresAt;
    }

    /// <summary>Gets the resource name.</summary>
    public string Resource { get; }

    /// <summary>
    /// Gets the fencing token of this grant: larger than every earlier grant's of the resource. Make the writes the lease
    /// protects conditional on it (<see cref="StateFencingExtensions.SetFencedAsync"/>).
    /// </summary>
    public long FencingToken { get; }

    /// <summary>Gets when the lease expires unless renewed (by the clock of the instance that took or renewed it).</summary>
    public DateTimeOffset ExpiresAt { get; internal set; }

    /// <summary>Gets whether this lease was released or found lost.</summary>
    public bool IsReleased { get; internal set; }

    /// <summary>Gets this grant's holder id (random per grant).</summary>
    internal string Holder { get; }

    /// <summary>Extends the lease by <paramref name="timeToLive"/> from now, if it is still held.</summary>
    /// <param name="timeToLive">The new time to live.</param>
    /// <param name="cancellationToken">Cancels the renewal.</param>
    /// <returns>Whether it was still held (and is now renewed); <see langword="false"/> when it expired and was taken, or was released.</returns>
    public ValueTask<bool> RenewAsync(TimeSpan timeToLive, CancellationToken cancellationToken = default) => _manager.RenewAsync(this, timeToLive, cancellationToken);

    /// <summary>Releases the lease, if it is still held, so the next caller gets it at once.</summary>
    /// <param name="cancellationToken">Cancels the release.</param>
    /// <returns>Whether it was still held.</returns>
    public ValueTask<bool> ReleaseAsync(CancellationToken cancellationToken = default) => _manager.ReleaseAsync(this, cancellationToken);

    /// <summary>Releases the lease (<see cref="ReleaseAsync"/>).</summary>
    /// <returns>A task.</returns>
    public async ValueTask DisposeAsync()
    {
        if (!IsReleased)
        {
            await ReleaseAsync().ConfigureAwait(false);
        }
    }
}
