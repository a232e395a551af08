namespace StateKit;

/// <summary>
/// State that merges (a state-based CRDT): <see cref="Merge"/> is commutative, associative and idempotent, so replicas
/// that saw the same changes in any order, any number of times, merge to the same value. Store it as a normal value
/// and fold a replica's copy in with <see cref="StateMergeExtensions.MergeAsync"/>.
/// </summary>
/// <typeparam name="T">The type itself.</typeparam>
public interface IMergeable<T>
    where T : IMergeable<T>
{
    /// <summary>Merges <paramref name="other"/> into a new value; neither input changes.</summary>
    /// <param name="other">Another replica's value.</param>
    /// <returns>The merged value.</returns>
    T Merge(T other);
}
