namespace StateKit;

/// <summary>
/// Typed, scoped state on top of any <see cref="IStateStore"/>: values with versions and history, optimistic
/// updates, conflict strategies, checkpoints of whole scopes, typed lists for conversation history, and hooks
/// (validators, audit sinks, authorizers) from DI. Registered by <c>AddStateKit()</c>.
/// </summary>
public interface IStateProvider
{
    /// <summary>Reads a value.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key (the store's key rules apply).</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The value and its version, or <see langword="null"/>.</returns>
    ValueTask<StateValue<T>?> GetAsync<T>(StateScope scope, string key, CancellationToken cancellationToken = default);

    /// <summary>Reads several values of one scope.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="keys">The keys.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The values found, by key.</returns>
    ValueTask<IReadOnlyDictionary<string, StateValue<T>>> GetManyAsync<T>(StateScope scope, IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads a value, or creates it with <paramref name="factory"/> when it does not exist. Under concurrency the factory
    /// runs once per key in this instance: concurrent callers wait for that one run and then read what it stored. The value
    /// is created only where none exists (expected version 0), so when another instance created it first, its value is
    /// returned and this factory's result is dropped.
    /// </summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key.</param>
    /// <param name="factory">Creates the value; runs at most once per key at a time in this instance. An exception it throws reaches every caller waiting for it, and nothing is stored.</param>
    /// <param name="timeToLive">The new value's time to live; <see langword="null"/> = the store's default.</param>
    /// <param name="cancellationToken">The token; cancelling one waiting caller does not cancel the run others wait for.</param>
    /// <returns>The value, its version and expiry, as read from the store after the creation: each caller gets its own copy.</returns>
    ValueTask<StateValue<T>> GetOrCreateAsync<T>(StateScope scope, string key, Func<CancellationToken, ValueTask<T>> factory, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <summary>Writes a value, optionally at an expected version with a conflict strategy.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="options">Expected version, conflict strategy, merge, time to live.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The version now stored (for first-writer-wins, the existing version).</returns>
    /// <exception cref="StateConflictException">The expected version did not match and the strategy is <see cref="StateConflictStrategy.Fail"/>.</exception>
    /// <exception cref="StateValidationException">A validator rejected the value.</exception>
    ValueTask<long> SetAsync<T>(StateScope scope, string key, T value, StateSetOptions<T>? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads the value, applies <paramref name="update"/> and writes the result at the version read; on a conflict
    /// it reads again and re-applies, up to <see cref="StateProviderOptions.MaxUpdateAttempts"/>. An update changes the
    /// value, not its lifetime: it writes with <see cref="StateTimeToLive.KeepCurrent"/>, so the value keeps its expiry
    /// (a new value gets the store's default).
    /// </summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key.</param>
    /// <param name="update">Computes the new value from the current one (default when missing); may run several times.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The value written and its version.</returns>
    /// <exception cref="StateConflictException">Every attempt conflicted.</exception>
    ValueTask<StateValue<T>> UpdateAsync<T>(StateScope scope, string key, Func<T?, T> update, CancellationToken cancellationToken = default);

    /// <summary>Deletes a value and its history.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key.</param>
    /// <param name="expectedVersion">Delete only at this version.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>Whether a value was deleted.</returns>
    ValueTask<bool> DeleteAsync(StateScope scope, string key, long? expectedVersion = null, CancellationToken cancellationToken = default);

    /// <summary>Streams the keys of a scope's values that start with <paramref name="prefix"/>.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="prefix">The prefix.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The keys.</returns>
    IAsyncEnumerable<string> ListKeysAsync(StateScope scope, string prefix = "", CancellationToken cancellationToken = default);

    /// <summary>Lists the versions of a key the history still holds, oldest first.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The versions.</returns>
    ValueTask<IReadOnlyList<StateVersionInfo>> GetHistoryAsync(StateScope scope, string key, CancellationToken cancellationToken = default);

    /// <summary>Reads a past version from the history.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The value at that version, or <see langword="null"/> when the history no longer holds it.</returns>
    ValueTask<StateValue<T>?> GetVersionAsync<T>(StateScope scope, string key, long version, CancellationToken cancellationToken = default);

    /// <summary>Compares two versions of a JSON object member by member (nested objects by path, arrays by index).</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key.</param>
    /// <param name="fromVersion">The older version.</param>
    /// <param name="toVersion">The newer version.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The added, modified and removed members.</returns>
    /// <exception cref="StateNotFoundException">The history does not hold one of the versions.</exception>
    ValueTask<IReadOnlyList<StateDiffEntry>> DiffAsync(StateScope scope, string key, long fromVersion, long toVersion, CancellationToken cancellationToken = default);

    /// <summary>Saves every value and list of a scope as a checkpoint.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="name">A name for people; <c>manual</c> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The checkpoint.</returns>
    ValueTask<StateCheckpointInfo> CreateCheckpointAsync(StateScope scope, string? name = null, CancellationToken cancellationToken = default);

    /// <summary>Lists a scope's checkpoints, oldest first.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The checkpoints.</returns>
    ValueTask<IReadOnlyList<StateCheckpointInfo>> ListCheckpointsAsync(StateScope scope, CancellationToken cancellationToken = default);

    /// <summary>
    /// Puts a scope back to a checkpoint: values and lists not in it are removed, the others get its content.
    /// All or nothing: when a write fails midway, what was already changed is put back before the error is raised.
    /// </summary>
    /// <param name="scope">The scope.</param>
    /// <param name="checkpointId">The checkpoint id.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>A task.</returns>
    /// <exception cref="StateNotFoundException">There is no such checkpoint.</exception>
    ValueTask RestoreCheckpointAsync(StateScope scope, string checkpointId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Copies a scope's values and lists into another scope, which must be empty: as they are now, or as a checkpoint of
    /// the source holds them (time travel: a new branch of a conversation from any checkpoint). The source is untouched.
    /// The copies start new version histories in the target. All or nothing: when a write fails midway, what was
    /// already copied is removed before the error is raised. A session's record is not copied (it is not in the scope).
    /// </summary>
    /// <param name="source">The scope to copy from.</param>
    /// <param name="target">The scope to copy into: it must hold no values and no lists.</param>
    /// <param name="checkpointId">A checkpoint of <paramref name="source"/>; <see langword="null"/> copies the current state.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The number of values and lists copied.</returns>
    /// <exception cref="StateNotFoundException">The source has no such checkpoint.</exception>
    /// <exception cref="StateConflictException">The target already holds a value or a list (named in the exception).</exception>
    /// <exception cref="ArgumentException">The target is the source.</exception>
    ValueTask<(int Values, int Lists)> ForkAsync(StateScope source, StateScope target, string? checkpointId = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Copies a scope's values as they were at <paramref name="asOf"/> into another, empty scope (time travel without a
    /// checkpoint): each value at the newest version its history kept that was written at or before that instant.
    /// </summary>
    /// <remarks>
    /// Values created after <paramref name="asOf"/> are left out. What history cannot tell is not invented: values
    /// deleted since are not in the fork, and lists (which keep no history) are copied as they are now. The copies start
    /// new version histories; all or nothing, as <see cref="ForkAsync"/>.
    /// </remarks>
    /// <param name="source">The scope to copy from; its tier must keep history (<see cref="StateProviderOptions.HistoryLimits"/>).</param>
    /// <param name="target">The scope to copy into: it must hold no values and no lists.</param>
    /// <param name="asOf">The instant whose values are copied.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The number of values and lists copied.</returns>
    /// <exception cref="InvalidOperationException">The source's tier keeps no history.</exception>
    /// <exception cref="StateNotFoundException">A value's kept history does not reach back to <paramref name="asOf"/> (named in the message).</exception>
    /// <exception cref="StateConflictException">The target already holds a value or a list.</exception>
    /// <exception cref="ArgumentException">The target is the source.</exception>
    ValueTask<(int Values, int Lists)> ForkAsOfAsync(StateScope source, StateScope target, DateTimeOffset asOf, CancellationToken cancellationToken = default);

    /// <summary>Deletes a checkpoint.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="checkpointId">The checkpoint id.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>Whether it existed.</returns>
    ValueTask<bool> DeleteCheckpointAsync(StateScope scope, string checkpointId, CancellationToken cancellationToken = default);

    /// <summary>Appends items to a typed list (conversation history); the list keeps its expiry (<see cref="StateTimeToLive.KeepCurrent"/>), a new list gets the store's default.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="listKey">The list key.</param>
    /// <param name="items">The items.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The new length.</returns>
    ValueTask<long> AppendAsync<T>(StateScope scope, string listKey, IReadOnlyList<T> items, CancellationToken cancellationToken = default);

    /// <summary>Reads items of a typed list; negative indices count from the end (<c>-20, -1</c> = the last 20).</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="listKey">The list key.</param>
    /// <param name="start">The first index.</param>
    /// <param name="stop">The last index, inclusive.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The items.</returns>
    ValueTask<IReadOnlyList<T>> GetRangeAsync<T>(StateScope scope, string listKey, long start = 0, long stop = -1, CancellationToken cancellationToken = default);

    /// <summary>Counts the items of a list.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="listKey">The list key.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The length.</returns>
    ValueTask<long> CountAsync(StateScope scope, string listKey, CancellationToken cancellationToken = default);

    /// <summary>Keeps only the last <paramref name="count"/> items of a list.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="listKey">The list key.</param>
    /// <param name="count">How many to keep; 0 deletes the list.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The new length.</returns>
    ValueTask<long> TrimToLastAsync(StateScope scope, string listKey, long count, CancellationToken cancellationToken = default);

    /// <summary>Removes everything of a scope: values, history, lists and checkpoints.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>How many values and lists were removed.</returns>
    ValueTask<long> ClearScopeAsync(StateScope scope, CancellationToken cancellationToken = default);
}
