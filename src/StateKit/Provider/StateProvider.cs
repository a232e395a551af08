using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StateKit.Adapters;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>
/// The <see cref="IStateProvider"/> over an <see cref="IStateStore"/>: typed values with versions here, and in partial
/// files the lists, history, checkpoints, scope index and hooks. Where each thing lives in the store is
/// <see cref="ScopeKeys"/>.
/// </summary>
internal sealed partial class StateProvider : IStateProvider
{
    private const int MaxKeyLength = 256;
    private readonly IStateStore _store;
    private readonly StateValueCodec _codec;
    private readonly StateProviderOptions _options;
    private readonly TimeProvider _time;
    private readonly IServiceProvider _services;
    private readonly IStateAuditSink[] _auditSinks;
    private readonly IStateAuthorizer[] _authorizers;
    private readonly IStatePrincipalAccessor? _principal;
    private readonly ConcurrentDictionary<Type, object[]> _validators = new();
    private readonly ConcurrentDictionary<StateScope, AutoCheckpoint> _auto = new();
    private IStateCheckpointParticipant[]? _participants;

    // The typed fast path: decoded values of immutable types, by the entry instance the L1 tier holds (an entry the tier
    // drops or replaces is a new instance, so a changed value is always decoded again).
    private readonly bool _sharesDecoded;
    private readonly ValueKeyCache _valueKeys = new();

    public StateProvider(IStateStore store, StateValueCodec codec, IOptions<StateProviderOptions> options, TimeProvider timeProvider, IServiceProvider services)
    {
        _store = store;
        _codec = codec;
        _options = options.Value;
        _time = timeProvider;
        _services = services;
        _auditSinks = services.GetServices<IStateAuditSink>().ToArray();
        _authorizers = services.GetServices<IStateAuthorizer>().ToArray();
        _principal = services.GetService<IStatePrincipalAccessor>();
        _sharesDecoded = store.GetService<ISharesDecodedValues>() is not null;
    }

    public ValueTask<StateValue<T>?> GetAsync<T>(StateScope scope, string key, CancellationToken cancellationToken = default)
    {
        if (_authorizers.Length == 0)
        {
            // No authorizer to await: a store answer that completed synchronously (an L1 hit) makes no state machine.
            _ = scope.StorePrefix;
            cancellationToken.ThrowIfCancellationRequested();
            var pending = _store.GetAsync(_valueKeys.Get(scope, ValidKey(key)), cancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                return new(pending.Result is { } entry ? ToValue<T>(key, entry) : null);
            }

            return AwaitValueAsync<T>(key, pending);
        }

        return GetAuthorizedAsync<T>(scope, key, cancellationToken);
    }

    private async ValueTask<StateValue<T>?> AwaitValueAsync<T>(string key, ValueTask<StateEntry?> pending) =>
        await pending.ConfigureAwait(false) is { } entry ? ToValue<T>(key, entry) : null;

    private async ValueTask<StateValue<T>?> GetAuthorizedAsync<T>(StateScope scope, string key, CancellationToken cancellationToken)
    {
        await AuthorizeAsync(StateAccess.Read, scope, ValidKey(key), cancellationToken).ConfigureAwait(false);
        return await AwaitValueAsync<T>(key, _store.GetAsync(ScopeKeys.Value(scope, key), cancellationToken)).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyDictionary<string, StateValue<T>>> GetManyAsync<T>(StateScope scope, IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            ValidKey(key);
        }

        await AuthorizeAsync(StateAccess.Read, scope, null, cancellationToken).ConfigureAwait(false);
        var prefix = ScopeKeys.ValuePrefix(scope);
        var entries = await _store.GetManyAsync(keys.Select(k => prefix + k).ToArray(), cancellationToken).ConfigureAwait(false);
        var result = new Dictionary<string, StateValue<T>>(entries.Count, StringComparer.Ordinal);
        foreach (var (storeKey, entry) in entries)
        {
            var key = storeKey[prefix.Length..];
            result[key] = ToValue<T>(key, entry);
        }

        return result;
    }

    public async ValueTask<long> SetAsync<T>(StateScope scope, string key, T value, StateSetOptions<T>? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new StateSetOptions<T>();
        if (options.Strategy == StateConflictStrategy.Merge && options.Merge is null)
        {
            throw new ArgumentException("The merge strategy needs StateSetOptions.Merge.", nameof(options));
        }

        await AuthorizeAsync(StateAccess.Write, scope, ValidKey(key), cancellationToken).ConfigureAwait(false);
        Validate(scope, key, value);
        try
        {
            return await WriteAsync(scope, key, value, options.ExpectedVersion, options.TimeToLive, cancellationToken).ConfigureAwait(false);
        }
        catch (StateConflictException conflict) when (options.Strategy != StateConflictStrategy.Fail)
        {
            switch (options.Strategy)
            {
                case StateConflictStrategy.FirstWriterWins:
                    return conflict.CurrentVersion;
                case StateConflictStrategy.LastWriterWins:
                    return await WriteAsync(scope, key, value, null, options.TimeToLive, cancellationToken).ConfigureAwait(false);
                default:
                    var merged = await UpdateCoreAsync<T>(scope, key, current => options.Merge!(current, value), options.TimeToLive, cancellationToken).ConfigureAwait(false);
                    return merged.Version;
            }
        }
    }

    public async ValueTask<StateValue<T>> UpdateAsync<T>(StateScope scope, string key, Func<T?, T> update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        await AuthorizeAsync(StateAccess.Write, scope, ValidKey(key), cancellationToken).ConfigureAwait(false);
        return await UpdateCoreAsync(scope, key, update, StateTimeToLive.KeepCurrent, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> DeleteAsync(StateScope scope, string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Write, scope, ValidKey(key), cancellationToken).ConfigureAwait(false);
        var (deleted, before) = await DeleteValueAsync(scope, key, expectedVersion, cancellationToken).ConfigureAwait(false);
        if (deleted)
        {
            await ChangedAsync(new StateChange(StateChangeKind.Delete, scope, key, before, 0, PrincipalName, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        }

        return deleted;
    }

    /// <summary>Deletes a value (optionally at a version) and then its history records.</summary>
    /// <returns>Whether a live value was deleted, and the version it had (0 when not read: nobody needed it).</returns>
    private async ValueTask<(bool Deleted, long Version)> DeleteValueAsync(StateScope scope, string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        var storeKey = ScopeKeys.Value(scope, key);

        // The version before the delete names the history records to remove and is reported to audit sinks: read it only
        // when either needs it.
        var before = expectedVersion ?? (HistoryLimit(scope) <= 0 && _auditSinks.Length == 0 ? 0 : (await _store.GetAsync(storeKey, cancellationToken).ConfigureAwait(false))?.Version ?? 0);
        var deleted = await _store.DeleteAsync(storeKey, expectedVersion, cancellationToken).ConfigureAwait(false);
        await AfterCommitAsync(storeKey, "Delete", () => DeleteHistoryAsync(scope, key, before, cancellationToken)).ConfigureAwait(false);
        return (deleted, before);
    }

    /// <summary>
    /// Runs a store step that follows a committed change. Its failure must not read as "nothing was written": it is
    /// reported as <see cref="StateStoreUnavailableException"/> with <see cref="StateStoreUnavailableException.WriteMayHaveApplied"/> set.
    /// </summary>
    private static async ValueTask AfterCommitAsync(string storeKey, string operation, Func<ValueTask> step)
    {
        try
        {
            await step().ConfigureAwait(false);
        }
        catch (StateStoreException ex) when (ex is not StateStoreUnavailableException { WriteMayHaveApplied: true })
        {
            throw new StateStoreUnavailableException(ex.StoreName, operation, storeKey, $"the change was applied, but a follow-up step failed: {ex.Message}", ex, writeMayHaveApplied: true);
        }
    }

    public async IAsyncEnumerable<string> ListKeysAsync(StateScope scope, string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        await AuthorizeAsync(StateAccess.Read, scope, null, cancellationToken).ConfigureAwait(false);
        var storePrefix = ScopeKeys.ValuePrefix(scope);
        await foreach (var storeKey in _store.ListKeysAsync(storePrefix + prefix, cancellationToken).ConfigureAwait(false))
        {
            yield return storeKey[storePrefix.Length..];
        }
    }

    public async ValueTask<long> ClearScopeAsync(StateScope scope, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Write, scope, null, cancellationToken).ConfigureAwait(false);

        // The scope's index names everything it ever created, so clearing costs what the scope holds,
        // not what the store holds.
        var (values, lists, checkpoints, streams) = await ReadIndexAsync(scope, cancellationToken).ConfigureAwait(false);
        long removed = 0;
        foreach (var stream in streams)
        {
            removed += await StateEventStreams.DeleteAsync(_store, scope, stream, cancellationToken).ConfigureAwait(false);
        }

        foreach (var list in lists)
        {
            removed += await _store.ListDeleteAsync(ScopeKeys.List(scope, list), cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        var live = await _store.GetManyAsync(values.Select(k => ScopeKeys.Value(scope, k)).ToArray(), cancellationToken).ConfigureAwait(false);
        foreach (var key in values)
        {
            if (live.TryGetValue(ScopeKeys.Value(scope, key), out var entry))
            {
                await DeleteHistoryAsync(scope, key, entry.Version, cancellationToken).ConfigureAwait(false);
            }

            removed += await _store.DeleteAsync(ScopeKeys.Value(scope, key), cancellationToken: cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        foreach (var id in checkpoints)
        {
            await _store.DeleteAsync(ScopeKeys.Checkpoint(scope, id), cancellationToken: cancellationToken).ConfigureAwait(false);
            await _store.DeleteAsync(ScopeKeys.CheckpointInfo(scope, id), cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        await _store.ListDeleteAsync(ScopeKeys.Index(scope), cancellationToken).ConfigureAwait(false);
        _auto.TryRemove(scope, out _);
        return removed;
    }

    /// <summary>
    /// The key, when it is valid; otherwise <see cref="InvalidStateKeyException"/> (a <see cref="StateStoreException"/>, so
    /// a key taken from a request is a 400 through the ProblemDetails mapping, not a 500).
    /// </summary>
    private string ValidKey(string key, [System.Runtime.CompilerServices.CallerMemberName] string operation = "")
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!StateKeys.IsValid(key, MaxKeyLength, out var reason))
        {
            throw new InvalidStateKeyException(_store.Name, key, operation, $"not a valid state key: {reason}");
        }

        return key;
    }

    private static string ValueKey(StateScope scope, string key) => ScopeKeys.ValuePrefix(scope) + key;

    private StateValue<T> ToValue<T>(string key, StateEntry entry)
    {
        var shared = _sharesDecoded && (ImmutableType<T>.Known || _options.ImmutableTypes.Contains(typeof(T)));
        if (shared && entry.Decoded is StateValue<T> known && known.Key == key)
        {
            return known; // the L1 tier answered with the entry decoded before: no decode
        }

        var value = new StateValue<T>(key, _codec.Decode<T>(entry.Value.Span, entry.Key)!, entry.Version, entry.ExpiresAt);
        if (shared)
        {
            entry.Decoded = value; // a race only decodes twice: each reader gets a whole value
        }

        return value;
    }

    private async ValueTask<StateValue<T>> UpdateCoreAsync<T>(StateScope scope, string key, Func<T?, T> update, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        var storeKey = ScopeKeys.Value(scope, key);
        return await ConflictRetry.RunAsync(_options.MaxUpdateAttempts, _store.Name, "Update", storeKey, async () =>
        {
            var entry = await _store.GetAsync(storeKey, cancellationToken).ConfigureAwait(false);
            var current = entry is null ? default : _codec.Decode<T>(entry.Value.Span, storeKey);
            var next = update(current);
            Validate(scope, key, next);

            // (An expiry that has just passed makes the write conflict, and the retry starts a new value.)
            var version = await WriteEncodedAsync(scope, key, _codec.Encode(next), entry?.Version ?? 0, timeToLive, StateChangeKind.Set, entry, cancellationToken).ConfigureAwait(false);
            DateTimeOffset? expiresAt = StateStoreGuard.KeepsExpiry(timeToLive)
                ? entry?.ExpiresAt
                : timeToLive is { } t && t != Timeout.InfiniteTimeSpan ? StateStoreGuard.RoundUpToMillisecond(_time.GetUtcNow() + t) : null;
            return new StateValue<T>(key, next, version, expiresAt);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes an encoded value, records its history, audits it and counts it for automatic checkpoints.</summary>
    private async ValueTask<long> WriteAsync<T>(StateScope scope, string key, T value, long? expectedVersion, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        var bytes = _codec.Encode(value);
        return await WriteEncodedAsync(scope, key, bytes, expectedVersion, timeToLive, StateChangeKind.Set, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes an encoded value (<paramref name="current"/>: the entry the caller read first, if any, for <see cref="StateTimeToLive.KeepCurrent"/>).</summary>
    private async ValueTask<long> WriteEncodedAsync(StateScope scope, string key, byte[] bytes, long? expectedVersion, TimeSpan? timeToLive, StateChangeKind kind, StateEntry? current, CancellationToken cancellationToken)
    {
        long version;
        if (expectedVersion is { } expected)
        {
            version = await CommitAsync(scope, key, bytes, expected, timeToLive, current, cancellationToken).ConfigureAwait(false);
        }
        else if (HistoryLimit(scope) <= 0)
        {
            version = await _store.SetAsync(ScopeKeys.Value(scope, key), bytes, new StateWriteOptions(null, timeToLive), cancellationToken).ConfigureAwait(false);
            if (version == 1)
            {
                // A new key; the value is written already, so a failure here must not read as "not written".
                await AfterCommitAsync(ScopeKeys.Value(scope, key), "Set", () => IndexAsync(scope, ScopeKeys.IndexedValue + key, cancellationToken)).ConfigureAwait(false);
            }
        }
        else
        {
            // The history record is stored under the version the write creates, so an unconditional write learns the
            // current version first and writes at it; losing a race only means reading again.
            var storeKey = ScopeKeys.Value(scope, key);
            version = await ConflictRetry.RunAsync(_options.MaxUpdateAttempts, _store.Name, "Set", storeKey, async () =>
            {
                var read = await _store.GetAsync(storeKey, cancellationToken).ConfigureAwait(false);
                return await CommitAsync(scope, key, bytes, read?.Version ?? 0, timeToLive, read, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }

        await ChangedAsync(new StateChange(kind, scope, key, version - 1, version, PrincipalName, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        return version;
    }

    /// <summary>
    /// Writes the value at <paramref name="expected"/> + 1 together with its history record, in one batch: both or
    /// neither (a conflict writes nothing, so an exception never hides a committed value). A new key is added to the
    /// scope's index first, so a value that exists is always indexed. The history record expires with the value
    /// (<c>current</c>: the value's entry at <paramref name="expected"/> when the caller has read it).
    /// </summary>
    private async ValueTask<long> CommitAsync(StateScope scope, string key, byte[] bytes, long expected, TimeSpan? timeToLive, StateEntry? current, CancellationToken cancellationToken)
    {
        if (expected == 0)
        {
            await IndexAsync(scope, ScopeKeys.IndexedValue + key, cancellationToken).ConfigureAwait(false);
        }

        var options = new StateWriteOptions(expected, timeToLive);
        var limit = HistoryLimit(scope);
        if (limit <= 0)
        {
            return await _store.SetAsync(ScopeKeys.Value(scope, key), bytes, options, cancellationToken).ConfigureAwait(false);
        }

        // The history record first: on the file store (key by key) a failure after it leaves a record of a version
        // that does not exist yet, which the next write of that version replaces; never a value without its record.
        var version = expected + 1;
        var historyTimeToLive = timeToLive;
        if (StateStoreGuard.KeepsExpiry(timeToLive) && expected > 0)
        {
            // A history slot is reused by later versions, so it cannot keep its own expiry: it gets the value's.
            current ??= await _store.GetAsync(ScopeKeys.Value(scope, key), cancellationToken).ConfigureAwait(false);
            historyTimeToLive = current?.ExpiresAt is { } at ? Remaining(at) : Timeout.InfiniteTimeSpan;
        }

        var versions = await _store.SetManyAsync(
        [
            new StateWrite(ScopeKeys.History(scope, key, version, limit), HistoryRecord(version, _time.GetUtcNow(), bytes), new StateWriteOptions(null, historyTimeToLive)),
            new StateWrite(ScopeKeys.Value(scope, key), bytes, options),
        ], cancellationToken).ConfigureAwait(false);
        return versions[1];
    }

    /// <summary>The time left until <paramref name="at"/>, at least one millisecond (a time to live must be positive).</summary>
    private TimeSpan Remaining(DateTimeOffset at) => TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, (at - _time.GetUtcNow()).Ticks));

    private sealed class AutoCheckpoint
    {
        public int Changes;
        public long LastTicks;
        public int Running;
    }
}
