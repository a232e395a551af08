namespace StateKit;

/// <summary>Mergeable state (<see cref="IMergeable{T}"/>) through the typed provider.</summary>
public static class StateMergeExtensions
{
    /// <summary>
    /// Folds a replica's copy into the stored value: the stored value merged with <paramref name="replica"/> (or
    /// <paramref name="replica"/> when there is none), written at the version read and merged again on a conflict, so
    /// concurrent merges from many writers all survive. Merging the same copy twice changes nothing.
    /// </summary>
    /// <typeparam name="T">The mergeable type.</typeparam>
    /// <param name="provider">The provider.</param>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key.</param>
    /// <param name="replica">The replica's value.</param>
    /// <param name="cancellationToken">Cancels the merge.</param>
    /// <returns>The stored value after the merge.</returns>
    public static ValueTask<StateValue<T>> MergeAsync<T>(this IStateProvider provider, StateScope scope, string key, T replica, CancellationToken cancellationToken = default)
        where T : class, IMergeable<T>
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(replica);
        return provider.UpdateAsync<T>(scope, key, stored => stored is null ? replica : stored.Merge(replica), cancellationToken);
    }
}
