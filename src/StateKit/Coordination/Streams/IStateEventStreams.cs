namespace StateKit;

/// <summary>
/// Append-only event streams inside a scope (so a session or agent scope's streams go with <c>ClearScopeAsync</c>):
/// optimistic appends at an expected version, reads forward and backward, aggregation with snapshots, truncation
/// before a snapshot and catch-up subscriptions. Registered by <c>AddStateKit()</c> on the default store.
/// </summary>
/// <remarks>
/// Each event is an entry of its own at its position (1, 2, 3, …); an append writes its events in one batch, each only
/// if its position is free, so two appenders at the same version cannot both succeed and a stream has no gap.
/// </remarks>
public interface IStateEventStreams
{
    /// <summary>Appends <paramref name="events"/> to the end of a stream.</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="stream">The stream name (a state key).</param>
    /// <param name="events">The events, 1 to 1,000.</param>
    /// <param name="expectedVersion">The stream's version the caller has seen (0: a new stream); <see langword="null"/> to append whatever the version.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The stream's version after the append (the position of the last event).</returns>
    /// <exception cref="StateConflictException">The stream is not at <paramref name="expectedVersion"/>; nothing was appended. Its <c>CurrentVersion</c> is the stream's version.</exception>
    ValueTask<long> AppendAsync<TEvent>(StateScope scope, string stream, IReadOnlyList<TEvent> events, long? expectedVersion = null, CancellationToken cancellationToken = default);

    /// <summary>Gets a stream's version: the position of its last event; 0 when it has none.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="stream">The stream name.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The version.</returns>
    ValueTask<long> GetVersionAsync(StateScope scope, string stream, CancellationToken cancellationToken = default);

    /// <summary>Reads up to <paramref name="maxCount"/> events from <paramref name="fromPosition"/>, forward (ascending) or backward (descending).</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="stream">The stream name.</param>
    /// <param name="fromPosition">The first position read (forward: 1 for the start; backward: <see cref="long.MaxValue"/> for the end).</param>
    /// <param name="maxCount">The most events returned.</param>
    /// <param name="backward">Whether to read towards the start.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The events in reading order; truncated positions are skipped.</returns>
    ValueTask<IReadOnlyList<StreamEvent<TEvent>>> ReadAsync<TEvent>(StateScope scope, string stream, long fromPosition = 1, int maxCount = 1000, bool backward = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// Folds a stream into a state: from the latest snapshot (or <paramref name="seed"/>) through every later event, and
    /// stores a new snapshot when <paramref name="snapshotEvery"/> events or more were folded after the last one.
    /// </summary>
    /// <typeparam name="TState">The state type (serialized like any value).</typeparam>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="stream">The stream name.</param>
    /// <param name="seed">The state before the first event.</param>
    /// <param name="apply">Applies one event.</param>
    /// <param name="snapshotEvery">Events between snapshots; 0 for none.</param>
    /// <param name="cancellationToken">Cancels the fold.</param>
    /// <returns>The state and the version it reflects.</returns>
    ValueTask<StreamAggregate<TState>> AggregateAsync<TState, TEvent>(StateScope scope, string stream, TState seed, Func<TState, StreamEvent<TEvent>, TState> apply, int snapshotEvery = 100, CancellationToken cancellationToken = default);

    /// <summary>Deletes the events before the latest snapshot (aggregation no longer needs them); reads then start after them.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="stream">The stream name.</param>
    /// <param name="cancellationToken">Cancels the truncation.</param>
    /// <returns>How many events were deleted.</returns>
    ValueTask<long> TruncateBeforeSnapshotAsync(StateScope scope, string stream, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads a stream from <paramref name="fromPosition"/> and then follows it: every event appended later, by any
    /// instance, in order, at least once (after a restart, resume from the last position handled + 1). New events are
    /// noticed from the store's change feed when it has one, and by polling every <paramref name="pollInterval"/>.
    /// </summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="scope">The scope.</param>
    /// <param name="stream">The stream name.</param>
    /// <param name="fromPosition">The first position to deliver.</param>
    /// <param name="pollInterval">How often to look for new events without a notice; 1 second when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events.</returns>
    IAsyncEnumerable<StreamEvent<TEvent>> SubscribeAsync<TEvent>(StateScope scope, string stream, long fromPosition = 1, TimeSpan? pollInterval = null, CancellationToken cancellationToken = default);
}

/// <summary>An event of a stream.</summary>
/// <typeparam name="TEvent">The event type.</typeparam>
/// <param name="Position">Its position: 1 for the first event.</param>
/// <param name="Event">The event.</param>
public sealed record StreamEvent<TEvent>(long Position, TEvent Event);

/// <summary>The result of <see cref="IStateEventStreams.AggregateAsync"/>.</summary>
/// <typeparam name="TState">The state type.</typeparam>
/// <param name="State">The folded state.</param>
/// <param name="Version">The position of the last event folded in (0 for none).</param>
/// <param name="FromSnapshot">The snapshot's position the fold started from (0 for none).</param>
public sealed record StreamAggregate<TState>(TState State, long Version, long FromSnapshot);
