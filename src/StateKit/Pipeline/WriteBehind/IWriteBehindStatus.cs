namespace StateKit;

/// <summary>
/// The state of a store's write-behind layer (<c>UseWriteBehind</c>): <c>store.GetService&lt;IWriteBehindStatus&gt;()</c>,
/// <see langword="null"/> when the pipeline has none.
/// </summary>
public interface IWriteBehindStatus
{
    /// <summary>Gets how many keys hold acknowledged writes not yet flushed to the store.</summary>
    int PendingCount { get; }

    /// <summary>Gets how many writes were flushed so far.</summary>
    long Flushed { get; }

    /// <summary>Gets how many flushes found another writer's newer version in the store (the store's value stays).</summary>
    long Conflicts { get; }

    /// <summary>Flushes every pending write now and waits for it (before a planned shutdown or a hand-over).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when what was pending at the call is flushed.</returns>
    Task FlushAsync(CancellationToken cancellationToken = default);
}
