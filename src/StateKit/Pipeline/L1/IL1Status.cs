namespace StateKit;

/// <summary>
/// The state of a store's in-process tier (<c>UseL1</c>): <c>store.GetService&lt;IL1Status&gt;()</c>,
/// <see langword="null"/> when the pipeline has none.
/// </summary>
public interface IL1Status
{
    /// <summary>Gets how many entries the tier holds.</summary>
    int Count { get; }

    /// <summary>Gets the bytes the held entries count (values and keys).</summary>
    long Bytes { get; }

    /// <summary>
    /// Tells whether <paramref name="entry"/>, as returned by a read through the pipeline, was answered by the tier's
    /// fail-safe (<see cref="L1StateStoreOptions.FailSafeMaxStaleness"/>) while the store was unavailable: it may be older
    /// than the store's value.
    /// </summary>
    /// <param name="entry">An entry a read returned.</param>
    /// <returns>Whether it is a stale fail-safe answer.</returns>
    bool IsStale(StateEntry entry);
}
