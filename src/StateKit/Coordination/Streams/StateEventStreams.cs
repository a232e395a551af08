using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using StateKit.Adapters;
using StateKit.Internal;
using StateKit.Serialization;

namespace StateKit;

/// <summary>
/// Event streams kept in a state store (<see cref="IStateEventStreams"/>): event <c>n</c> of stream <c>s</c> in scope
/// <c>x</c> is the entry <c>{x}e/{s}/{n:D19}</c>, the latest snapshot <c>{x}es/{s}</c>, the first position kept after a
/// truncation <c>{x}et/{s}</c>. The stream's end is found by probing (from the last end this instance saw), so there is
/// no head entry to keep consistent.
/// </summary>
public sealed class StateEventStreams : IStateEventStreams
{
    private const int MaxAppend = 1000;
    private const int Page = 256;
    private const int MaxStreamName = 200;
    private const int MaxRemembered = 10_000;
    private readonly IStateStore _store;
    private readonly StateValueCodec _codec;
    private readonly ConcurrentDictionary<string, long> _ends = new(StringComparer.Ordinal);

    /// <summary>Initializes a new instance of the <see cref="StateEventStreams"/> class.</summary>
    /// <param name="store">The store (not owned).</param>
    /// <param name="codec">Encodes events and snapshots; JSON when <see langword="null"/>.</param>
    public StateEventStreams(IStateStore store, StateValueCodec? codec = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _codec = codec ?? new StateValueCodec();
    }

    /// <inheritdoc />
    public async ValueTask<long> AppendAsync<TEvent>(StateScope scope, string stream, IReadOnlyList<TEvent> events, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        CheckStream(stream);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count is 0 or > MaxAppend)
        {
            throw new ArgumentOutOfRangeException(nameof(events), events.Count, $"An append carries 1 to {MaxAppend} events.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion ?? 0, nameof(expectedVersion));
        var encoded = events.Select(e => _codec.Encode(e)).ToArray();
        while (true)
        {
            var end = await FindEndAsync(scope, stream, cancellationToken).ConfigureAwait(false);
            if (expectedVersion is { } expected && expected != end)
            {
                throw new StateConflictException(_store.Name, "stream append", EventPrefix(scope, stream), expected, end);
            }

            if (end == 0)
            {
                await ScopeKeys.AddToIndexAsync(_store, scope, ScopeKeys.IndexedStream + stream, cancellationToken).ConfigureAwait(false);
            }

            var writes = new StateWrite[encoded.Length];
            for (var i = 0; i < encoded.Length; i++)
            {
                writes[i] = new StateWrite(EventKey(scope, stream, end + 1 + i), encoded[i], StateWriteOptions.IfNotExists);
            }

            try
            {
                await _store.SetManyAsync(writes, cancellationToken).ConfigureAwait(false);
                var version = end + encoded.Length;
                Remember(EventPrefix(scope, stream), version);
                return version;
            }
            catch (StateConflictException) when (expectedVersion is null)
            {
                // Another appender took these positions: append after it.
            }
            catch (StateConflictException)
            {
                throw new StateConflictException(_store.Name, "stream append", EventPrefix(scope, stream), expectedVersion!.Value, await FindEndAsync(scope, stream, cancellationToken).ConfigureAwait(false));
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<long> GetVersionAsync(StateScope scope, string stream, CancellationToken cancellationToken = default)
    {
        CheckStream(stream);
        return FindEndAsync(scope, stream, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<StreamEvent<TEvent>>> ReadAsync<TEvent>(StateScope scope, string stream, long fromPosition = 1, int maxCount = 1000, bool backward = false, CancellationToken cancellationToken = default)
    {
        CheckStream(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(fromPosition, 1);
        var result = new List<StreamEvent<TEvent>>();
        if (backward)
        {
            var start = await StartAsync(scope, stream, cancellationToken).ConfigureAwait(false);
            var position = Math.Min(fromPosition, await FindEndAsync(scope, stream, cancellationToken).ConfigureAwait(false));
            while (result.Count < maxCount && position >= start)
            {
                var count = (int)Math.Min(Math.Min(Page, maxCount - result.Count), position - start + 1);
                var keys = Enumerable.Range(0, count).Select(i => EventKey(scope, stream, position - i)).ToArray();
                var found = await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < count; i++)
                {
                    if (found.TryGetValue(keys[i], out var entry))
                    {
                        result.Add(new StreamEvent<TEvent>(position - i, _codec.Decode<TEvent>(entry.Value.Span, entry.Key)!));
                    }
                }

                position -= count;
            }

            return result;
        }

        var next = fromPosition;
        var startChecked = false;
        while (result.Count < maxCount)
        {
            var count = Math.Min(Page, maxCount - result.Count);
            var keys = Enumerable.Range(0, count).Select(i => EventKey(scope, stream, next + i)).ToArray();
            var found = await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
            var read = 0;
            while (read < count && found.TryGetValue(keys[read], out var entry))
            {
                result.Add(new StreamEvent<TEvent>(next + read, _codec.Decode<TEvent>(entry.Value.Span, entry.Key)!));
                read++;
            }

            if (read == count)
            {
                next += count;
                continue;
            }

            // The end (positions are written without gaps), unless the read began before a truncation: the marker is
            // read only then, not on every read.
            if (result.Count == 0 && !startChecked && await StartAsync(scope, stream, cancellationToken).ConfigureAwait(false) is var start && start > next)
            {
                startChecked = true;
                next = start;
                continue;
            }

            break;
        }

        return result;
    }

    /// <inheritdoc />
    public async ValueTask<StreamAggregate<TState>> AggregateAsync<TState, TEvent>(StateScope scope, string stream, TState seed, Func<TState, StreamEvent<TEvent>, TState> apply, int snapshotEvery = 100, CancellationToken cancellationToken = default)
    {
        CheckStream(stream);
        ArgumentNullException.ThrowIfNull(apply);
        ArgumentOutOfRangeException.ThrowIfNegative(snapshotEvery);
        var snapshotKey = SnapshotKey(scope, stream);
        var snapshotEntry = await _store.GetAsync(snapshotKey, cancellationToken).ConfigureAwait(false);
        var snapshot = snapshotEntry is null ? null : _codec.Decode<Snapshot<TState>>(snapshotEntry.Value.Span, snapshotKey);
        var (state, version) = snapshot is null ? (seed, 0L) : (snapshot.State, snapshot.Position);
        var from = version;
        while (true)
        {
            var page = await ReadAsync<TEvent>(scope, stream, version + 1, MaxAppend, cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var e in page)
            {
                state = apply(state, e);
                version = e.Position;
            }

            if (page.Count < MaxAppend)
            {
                break;
            }
        }

        if (snapshotEvery > 0 && version - from >= snapshotEvery)
        {
            try
            {
                await _store.SetAsync(snapshotKey, _codec.Encode(new Snapshot<TState>(version, state)), new StateWriteOptions(snapshotEntry?.Version ?? 0), cancellationToken).ConfigureAwait(false);
            }
            catch (StateConflictException)
            {
                // Another instance stored a snapshot meanwhile: keep its.
            }
        }

        return new StreamAggregate<TState>(state, version, from);
    }

    /// <inheritdoc />
    public async ValueTask<long> TruncateBeforeSnapshotAsync(StateScope scope, string stream, CancellationToken cancellationToken = default)
    {
        CheckStream(stream);
        var snapshotEntry = await _store.GetAsync(SnapshotKey(scope, stream), cancellationToken).ConfigureAwait(false);
        if (snapshotEntry is null)
        {
            return 0;
        }

        var position = _codec.Decode<Snapshot<object>>(snapshotEntry.Value.Span, snapshotEntry.Key)!.Position;
        var start = await StartAsync(scope, stream, cancellationToken).ConfigureAwait(false);
        if (position < start)
        {
            return 0;
        }

        // The new start first: readers skip the positions being deleted from then on.
        var marker = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(marker, position + 1);
        await _store.SetAsync(StartKey(scope, stream), marker, cancellationToken: cancellationToken).ConfigureAwait(false);
        long deleted = 0;
        for (var p = start; p <= position; p++)
        {
            deleted += await _store.DeleteAsync(EventKey(scope, stream, p), cancellationToken: cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        return deleted;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StreamEvent<TEvent>> SubscribeAsync<TEvent>(StateScope scope, string stream, long fromPosition = 1, TimeSpan? pollInterval = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        CheckStream(stream);
        var poll = pollInterval ?? TimeSpan.FromSeconds(1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(poll, TimeSpan.Zero, nameof(pollInterval));
        using var changed = new SemaphoreSlim(0);
        IAsyncDisposable? subscription = null;
        if (_store.GetService<IStateChangeFeed>() is { } feed)
        {
            subscription = await feed.SubscribeAsync(EventPrefix(scope, stream), (_, _) =>
            {
                if (changed.CurrentCount == 0)
                {
                    changed.Release();
                }

                return ValueTask.CompletedTask;
            }, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var next = fromPosition;
            while (!cancellationToken.IsCancellationRequested)
            {
                var page = await ReadAsync<TEvent>(scope, stream, next, Page, cancellationToken: cancellationToken).ConfigureAwait(false);
                foreach (var e in page)
                {
                    yield return e;
                    next = e.Position + 1;
                }

                if (page.Count < Page)
                {
                    try
                    {
                        await changed.WaitAsync(poll, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        yield break;
                    }
                }
            }
        }
        finally
        {
            if (subscription is not null)
            {
                await subscription.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Deletes every event, the snapshot and the start marker of a stream (<c>ClearScopeAsync</c>).</summary>
    internal static async ValueTask<long> DeleteAsync(IStateStore store, StateScope scope, string stream, CancellationToken cancellationToken)
    {
        long removed = 0;
        var keys = new List<string>();
        await foreach (var key in store.ListKeysAsync(EventPrefix(scope, stream), cancellationToken).ConfigureAwait(false))
        {
            keys.Add(key);
        }

        foreach (var key in keys.Append(SnapshotKey(scope, stream)).Append(StartKey(scope, stream)))
        {
            removed += await store.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        return removed;
    }

    private static string EventPrefix(StateScope scope, string stream) => scope.StorePrefix + "e/" + stream + "/";

    private static string EventKey(StateScope scope, string stream, long position) => EventPrefix(scope, stream) + position.ToString("D19", CultureInfo.InvariantCulture);

    private static string SnapshotKey(StateScope scope, string stream) => scope.StorePrefix + "es/" + stream;

    private static string StartKey(StateScope scope, string stream) => scope.StorePrefix + "et/" + stream;

    private static void CheckStream(string stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!StateKeys.IsValid(stream, MaxStreamName, out var reason))
        {
            throw new InvalidStateKeyException("streams", stream, "stream", $"not a valid stream name: {reason}");
        }
    }

    /// <summary>Notes a stream's end for the next probe; bounded (an app with a stream per session touches many).</summary>
    private void Remember(string prefix, long end)
    {
        if (_ends.Count >= MaxRemembered)
        {
            _ends.Clear(); // a forgotten end costs a few more probes, nothing else
        }

        _ends[prefix] = end;
    }

    private async ValueTask<long> StartAsync(StateScope scope, string stream, CancellationToken cancellationToken) =>
        await _store.GetAsync(StartKey(scope, stream), cancellationToken).ConfigureAwait(false) is { Value.Length: 8 } entry
            ? BinaryPrimitives.ReadInt64LittleEndian(entry.Value.Span)
            : 1;

    /// <summary>
    /// The position of the stream's last event: probed from the last end seen here, doubling, then halving. The
    /// truncation marker is read only when there is no such end to start from (two reads per append, not three).
    /// </summary>
    private async ValueTask<long> FindEndAsync(StateScope scope, string stream, CancellationToken cancellationToken)
    {
        var prefix = EventPrefix(scope, stream);
        var known = _ends.GetValueOrDefault(prefix);
        if (known > 0 && !await ExistsAsync(known).ConfigureAwait(false))
        {
            known = 0; // the stream was cleared since: start over
        }

        if (known == 0)
        {
            known = await StartAsync(scope, stream, cancellationToken).ConfigureAwait(false) - 1;
        }

        long step = 1;
        while (await ExistsAsync(known + step).ConfigureAwait(false))
        {
            known += step;
            step *= 2;
        }

        var missing = known + step;
        while (missing - known > 1)
        {
            var middle = known + ((missing - known) / 2);
            if (await ExistsAsync(middle).ConfigureAwait(false))
            {
                known = middle;
            }
            else
            {
                missing = middle;
            }
        }

        Remember(prefix, known);
        return known;

        ValueTask<bool> ExistsAsync(long position) => _store.ExistsAsync(EventKey(scope, stream, position), cancellationToken);
    }

    /// <summary>A stream's snapshot: the state after the event at <see cref="Position"/>.</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <param name="Position">The last event folded in.</param>
    /// <param name="State">The state.</param>
    internal sealed record Snapshot<TState>(long Position, TState State);
}
