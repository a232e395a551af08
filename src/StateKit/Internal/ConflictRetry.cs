namespace StateKit.Internal;

/// <summary>
/// The retry loop of every read-modify-write (provider <c>UpdateAsync</c> and merges, session updates and id
/// regeneration): run the attempt and, when it loses a race (<see cref="StateConflictException"/>), run it again.
/// The first retry is immediate; later ones wait a random 0–2ⁿ ms (full jitter) capped at 256 ms, so contenders
/// spread out over time and a slow store (the file store's fsync) does not run a contender out of attempts
/// before the others are done.
/// </summary>
internal static class ConflictRetry
{
    private const int MaxDelayExponent = 8;

    /// <summary>Runs <paramref name="attempt"/> until it does not conflict, at most <paramref name="maxAttempts"/> times.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="maxAttempts">How many attempts at most.</param>
    /// <param name="storeName">The store, for the final exception.</param>
    /// <param name="operation">The operation, for the final exception.</param>
    /// <param name="key">The key, for the final exception.</param>
    /// <param name="attempt">One read-modify-write.</param>
    /// <param name="cancellationToken">Cancels the waits.</param>
    /// <returns>The result of the attempt that did not conflict.</returns>
    /// <exception cref="StateConflictException">Every attempt conflicted.</exception>
    public static async ValueTask<T> RunAsync<T>(int maxAttempts, string storeName, string operation, string key, Func<ValueTask<T>> attempt, CancellationToken cancellationToken)
    {
        StateConflictException? last = null;
        for (var i = 0; i < maxAttempts; i++)
        {
            try
            {
                return await attempt().ConfigureAwait(false);
            }
            catch (StateConflictException conflict)
            {
                last = conflict;
                if (i >= 1 && i + 1 < maxAttempts)
                {
                    await Task.Delay(Random.Shared.Next(0, 1 << Math.Min(i, MaxDelayExponent)), cancellationToken).ConfigureAwait(false);
                }
            }
        }

        throw new StateConflictException(storeName, $"{operation} (gave up after {maxAttempts} attempts)", key, last!.ExpectedVersion, last.CurrentVersion);
    }
}
