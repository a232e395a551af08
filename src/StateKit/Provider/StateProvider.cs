using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StateKit.Adapters;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>
/// The <see cref="IStateProvider"/> over an <see cref="IStateStore"/>. Store keys of a scope start with
/// <c>{tier}/{owner}/</c>, then <c>v/</c> values, <c>h/{key}/{slot}</c> history records, <c>l/</c> lists, <c>c/</c> checkpoint data,
/// <c>ci/</c> checkpoint infos, and <c>index</c>: a list naming every value, list and checkpoint the scope created,
/// so that checkpoints and clearing a scope cost what the scope holds, never a scan of the store.
/// </summary>
internal sealed partial class StateProvider : IStateProvider
{
    private const int MaxKeyLength = 256;
    private const string IndexName = "index";
    private const string ValueEntry = "v:";
    private const string ListEntry = "l:";
    private const string CheckpointEntry = "c:";
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
    }

    public async ValueTask<StateValue<T>?> GetAsync<T>(StateScope scope, string key, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Read, scope, ValidKey(key), cancellationToken).ConfigureAwait(false);
        var entry = await _store.GetAsync(ValueKey(scope, key), cancellationToken).ConfigureAwait(false);
        return entry is null ? null : ToValue<T>(key, entry);
    }

    public async ValueTask<IReadOnlyDictionary<string, StateValue<T>>> GetManyAsync<T>(StateScope scope, IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            ValidKey(key);
        }

        await AuthorizeAsync(StateAccess.Read, scope, null, cancellationToken).ConfigureAwait(false);
        var prefix = scope.StorePrefix + "v/";
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
        var storeKey = ValueKey(scope, key);

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
        var storePrefix = scope.StorePrefix + "v/";
        await foreach (var storeKey in _store.ListKeysAsync(storePrefix + prefix, cancellationToken).ConfigureAwait(false))
        {
            yield return storeKey[storePrefix.Length..];
        }
    }

    public async ValueTask<long> AppendAsync<T>(StateScope scope, string listKey, IReadOnlyList<T> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        await AuthorizeAsync(StateAccess.Write, scope, ValidKey(listKey), cancellationToken).ConfigureAwait(false);
        var encoded = new ReadOnlyMemory<byte>[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            Validate(scope, listKey, items[i]);
            encoded[i] = _codec.Encode(items[i]);
        }

        var length = await _store.ListAppendAsync(scope.StorePrefix + "l/" + listKey, encoded, StateTimeToLive.KeepCurrent, cancellationToken).ConfigureAwait(false);
        if (items.Count > 0 && length == items.Count)
        {
            await IndexAsync(scope, ListEntry + listKey, cancellationToken).ConfigureAwait(false); // a new list
        }

        if (items.Count > 0)
        {
            await ChangedAsync(new StateChange(StateChangeKind.ListAppend, scope, listKey, length - items.Count, length, PrincipalName, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        }

        return length;
    }

    public async ValueTask<IReadOnlyList<T>> GetRangeAsync<T>(StateScope scope, string listKey, long start = 0, long stop = -1, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Read, scope, ValidKey(listKey), cancellationToken).ConfigureAwait(false);
        var storeKey = scope.StorePrefix + "l/" + listKey;
        var raw = await _store.ListRangeAsync(storeKey, start, stop, cancellationToken).ConfigureAwait(false);
        var items = new T[raw.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = _codec.Decode<T>(raw[i].Span, storeKey)!;
        }

        return items;
    }

    public async ValueTask<long> CountAsync(StateScope scope, string listKey, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Read, scope, ValidKey(listKey), cancellationToken).ConfigureAwait(false);
        return await _store.ListLengthAsync(scope.StorePrefix + "l/" + listKey, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long> TrimToLastAsync(StateScope scope, string listKey, long count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        await AuthorizeAsync(StateAccess.Write, scope, ValidKey(listKey), cancellationToken).ConfigureAwait(false);
        var storeKey = scope.StorePrefix + "l/" + listKey;
        long length;
        if (count == 0)
        {
            await _store.ListDeleteAsync(storeKey, cancellationToken).ConfigureAwait(false);
            length = 0;
        }
        else
        {
            length = await _store.ListTrimAsync(storeKey, -count, -1, cancellationToken).ConfigureAwait(false);
        }

        await ChangedAsync(new StateChange(StateChangeKind.ListRemove, scope, listKey, 0, length, PrincipalName, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        return length;
    }

    public async ValueTask<long> ClearScopeAsync(StateScope scope, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Write, scope, null, cancellationToken).ConfigureAwait(false);

        // The scope's index names everything it ever created, so clearing costs what the scope holds,
        // not what the store holds.
        var (values, lists, checkpoints) = await ReadIndexAsync(scope, cancellationToken).ConfigureAwait(false);
        long removed = 0;
        var prefix = scope.StorePrefix;
        foreach (var list in lists)
        {
            removed += await _store.ListDeleteAsync(prefix + "l/" + list, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        var live = await _store.GetManyAsync(values.Select(k => prefix + "v/" + k).ToArray(), cancellationToken).ConfigureAwait(false);
        foreach (var key in values)
        {
            if (live.TryGetValue(prefix + "v/" + key, out var entry))
            {
                await DeleteHistoryAsync(scope, key, entry.Version, cancellationToken).ConfigureAwait(false);
            }

            removed += await _store.DeleteAsync(prefix + "v/" + key, cancellationToken: cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        foreach (var id in checkpoints)
        {
            await _store.DeleteAsync(prefix + "c/" + id, cancellationToken: cancellationToken).ConfigureAwait(false);
            await _store.DeleteAsync(prefix + "ci/" + id, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        await _store.ListDeleteAsync(prefix + IndexName, cancellationToken).ConfigureAwait(false);
        _auto.TryRemove(scope, out _);
        return removed;
    }

    private string? PrincipalName => _principal?.Principal?.Identity?.Name;

    private static string ValidKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!StateKeys.IsValid(key, MaxKeyLength, out var reason))
        {
            throw new ArgumentException($"'{StateKeys.Printable(key)}' is not a valid state key: {reason}.", nameof(key));
        }

        return key;
    }

    private static string ValueKey(StateScope scope, string key) => scope.StorePrefix + "v/" + key;

    private StateValue<T> ToValue<T>(string key, StateEntry entry) =>
        new(key, _codec.Decode<T>(entry.Value.Span, entry.Key)!, entry.Version, entry.ExpiresAt);

    private async ValueTask<StateValue<T>> UpdateCoreAsync<T>(StateScope scope, string key, Func<T?, T> update, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        var storeKey = ValueKey(scope, key);
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
            version = await _store.SetAsync(ValueKey(scope, key), bytes, new StateWriteOptions(null, timeToLive), cancellationToken).ConfigureAwait(false);
            if (version == 1)
            {
                // A new key; the value is written already, so a failure here must not read as "not written".
                await AfterCommitAsync(ValueKey(scope, key), "Set", () => IndexAsync(scope, ValueEntry + key, cancellationToken)).ConfigureAwait(false);
            }
        }
        else
        {
            // The history record is stored under the version the write creates, so an unconditional write learns the
            // current version first and writes at it; losing a race only means reading again.
            var storeKey = ValueKey(scope, key);
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
            await IndexAsync(scope, ValueEntry + key, cancellationToken).ConfigureAwait(false);
        }

        var options = new StateWriteOptions(expected, timeToLive);
        var limit = HistoryLimit(scope);
        if (limit <= 0)
        {
            return await _store.SetAsync(ValueKey(scope, key), bytes, options, cancellationToken).ConfigureAwait(false);
        }

        // The history record first: on the file store (key by key) a failure after it leaves a record of a version
        // that does not exist yet, which the next write of that version replaces; never a value without its record.
        var version = expected + 1;
        var historyTimeToLive = timeToLive;
        if (StateStoreGuard.KeepsExpiry(timeToLive) && expected > 0)
        {
            // A history slot is reused by later versions, so it cannot keep its own expiry: it gets the value's.
            current ??= await _store.GetAsync(ValueKey(scope, key), cancellationToken).ConfigureAwait(false);
            historyTimeToLive = current?.ExpiresAt is { } at ? Remaining(at) : Timeout.InfiniteTimeSpan;
        }

        var versions = await _store.SetManyAsync(
        [
            new StateWrite(HistoryKey(scope, key, version, limit), HistoryRecord(version, _time.GetUtcNow(), bytes), new StateWriteOptions(null, historyTimeToLive)),
            new StateWrite(ValueKey(scope, key), bytes, options),
        ], cancellationToken).ConfigureAwait(false);
        return versions[1];
    }

    /// <summary>The time left until <paramref name="at"/>, at least one millisecond (a time to live must be positive).</summary>
    private TimeSpan Remaining(DateTimeOffset at) => TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, (at - _time.GetUtcNow()).Ticks));

    private void Validate<T>(StateScope scope, string key, T value)
    {
        var validators = _validators.GetOrAdd(typeof(T), _ => _services.GetServices<IStateValidator<T>>().Cast<object>().ToArray());
        if (validators.Length == 0)
        {
            return;
        }

        var problems = new List<string>();
        foreach (IStateValidator<T> validator in validators)
        {
            problems.AddRange(validator.Validate(scope, key, value));
        }

        if (problems.Count > 0)
        {
            throw new StateValidationException(scope, key, problems);
        }
    }

    private async ValueTask AuthorizeAsync(StateAccess access, StateScope scope, string? key, CancellationToken cancellationToken)
    {
        _ = scope.StorePrefix; // throws for default(StateScope); the prefix is computed once per scope
        cancellationToken.ThrowIfCancellationRequested();
        if (_authorizers.Length == 0)
        {
            return;
        }

        var principal = _principal?.Principal;
        foreach (var authorizer in _authorizers)
        {
            if (!await authorizer.AuthorizeAsync(principal, access, scope, key, cancellationToken).ConfigureAwait(false))
            {
                throw new StateAccessDeniedException(access, scope, key, principal?.Identity?.Name);
            }
        }
    }

    private async ValueTask ChangedAsync(StateChange change, CancellationToken cancellationToken)
    {
        foreach (var sink in _auditSinks)
        {
            await sink.OnChangeAsync(change, cancellationToken).ConfigureAwait(false);
        }

        if (change.Kind != StateChangeKind.Restore)
        {
            await CountForAutoCheckpointAsync(change.Scope, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Records that the scope now holds <paramref name="entry"/> (<c>v:key</c>, <c>l:key</c> or <c>c:id</c>).</summary>
    /// <remarks>
    /// The index never expires (not even under the store's default time to live): it must outlive every value it names,
    /// and values written later live longer than it would. It goes when the scope is cleared.
    /// </remarks>
    private async ValueTask IndexAsync(StateScope scope, string entry, CancellationToken cancellationToken) =>
        await _store.ListAppendAsync(scope.StorePrefix + IndexName, [System.Text.Encoding.UTF8.GetBytes(entry)], Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);

    /// <summary>Reads the scope's index: every value key, list key and checkpoint id it has created (some may be gone since).</summary>
    private async ValueTask<(List<string> Values, List<string> Lists, List<string> Checkpoints)> ReadIndexAsync(StateScope scope, CancellationToken cancellationToken)
    {
        var raw = await _store.ListRangeAsync(scope.StorePrefix + IndexName, 0, -1, cancellationToken).ConfigureAwait(false);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var (values, lists, checkpoints) = (new List<string>(), new List<string>(), new List<string>());
        foreach (var item in raw)
        {
            var entry = System.Text.Encoding.UTF8.GetString(item.Span);
            if (!seen.Add(entry) || entry.Length < 2)
            {
                continue;
            }

            (entry[..2] switch
            {
                ValueEntry => values,
                ListEntry => lists,
                _ => checkpoints,
            }).Add(entry[2..]);
        }

        return (values, lists, checkpoints);
    }

    private static byte[] HistoryRecord(long version, DateTimeOffset at, byte[] value)
    {
        var record = new byte[16 + value.Length];
        BinaryPrimitives.WriteInt64LittleEndian(record, version);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(8), at.UtcTicks);
        value.CopyTo(record, 16);
        return record;
    }

    private int HistoryLimit(StateScope scope) => _options.HistoryLimits.GetValueOrDefault(scope.Tier);

    /// <summary>
    /// History is a ring of entries per key: version v is kept in slot v mod limit, written in the same batch as the value,
    /// and lives as long as the value written with it. Only versions of the current value's window are read, and a record
    /// counts only when it holds the version asked for, so records of an older generation (a value that expired or was
    /// deleted and started again at version 1) are never mixed in, and concurrent writers cannot push newer versions out.
    /// </summary>
    private static string HistoryKey(StateScope scope, string key, long version, int limit) =>
        scope.StorePrefix + "h/" + key + "/" + (version % limit).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Removes the history records of a value that was at <paramref name="version"/>.</summary>
    private async ValueTask DeleteHistoryAsync(StateScope scope, string key, long version, CancellationToken cancellationToken)
    {
        var limit = HistoryLimit(scope);
        for (var v = Math.Max(1, version - limit + 1); limit > 0 && v <= version; v++)
        {
            await _store.DeleteAsync(HistoryKey(scope, key, v, limit), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<List<(long Version, DateTimeOffset At, ReadOnlyMemory<byte> Value)>> ReadHistoryAsync(StateScope scope, string key, CancellationToken cancellationToken)
    {
        var result = new List<(long, DateTimeOffset, ReadOnlyMemory<byte>)>();
        var limit = HistoryLimit(scope);
        var current = limit <= 0 ? null : await _store.GetAsync(ValueKey(scope, key), cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return result;
        }

        var first = Math.Max(1, current.Version - limit + 1);
        var keys = new string[current.Version - first + 1];
        for (var v = first; v <= current.Version; v++)
        {
            keys[v - first] = HistoryKey(scope, key, v, limit);
        }

        var records = await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
        for (var v = first; v <= current.Version; v++)
        {
            if (!records.TryGetValue(keys[v - first], out var entry))
            {
                continue;
            }

            var record = entry.Value;
            if (record.Length < 16)
            {
                throw new StateCorruptedException(_store.Name, "GetHistory", entry.Key, $"a history record has {record.Length} bytes, fewer than its 16-byte header");
            }

            if (BinaryPrimitives.ReadInt64LittleEndian(record.Span) == v)
            {
                result.Add((v, new DateTimeOffset(BinaryPrimitives.ReadInt64LittleEndian(record.Span[8..]), TimeSpan.Zero), record[16..]));
            }
        }

        return result;
    }

    public async ValueTask<IReadOnlyList<StateVersionInfo>> GetHistoryAsync(StateScope scope, string key, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Read, scope, ValidKey(key), cancellationToken).ConfigureAwait(false);
        return (await ReadHistoryAsync(scope, key, cancellationToken).ConfigureAwait(false)).Select(h => new StateVersionInfo(h.Version, h.At)).ToArray();
    }

    public async ValueTask<StateValue<T>?> GetVersionAsync<T>(StateScope scope, string key, long version, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Read, scope, ValidKey(key), cancellationToken).ConfigureAwait(false);
        foreach (var record in await ReadHistoryAsync(scope, key, cancellationToken).ConfigureAwait(false))
        {
            if (record.Version == version)
            {
                return new StateValue<T>(key, _codec.Decode<T>(record.Value.Span, key)!, version, null);
            }
        }

        return null;
    }

    public async ValueTask<IReadOnlyList<StateDiffEntry>> DiffAsync(StateScope scope, string key, long fromVersion, long toVersion, CancellationToken cancellationToken = default)
    {
        if (_codec.Serializer is not JsonStateSerializer)
        {
            throw new NotSupportedException("Diffs compare JSON: they need the System.Text.Json serializer.");
        }

        await AuthorizeAsync(StateAccess.Read, scope, ValidKey(key), cancellationToken).ConfigureAwait(false);
        var history = await ReadHistoryAsync(scope, key, cancellationToken).ConfigureAwait(false);
        JsonElement Find(long version)
        {
            foreach (var record in history)
            {
                if (record.Version == version)
                {
                    return _codec.Decode<JsonElement>(record.Value.Span, key);
                }
            }

            throw new KeyNotFoundException($"The history of '{StateKeys.Printable(key)}' in {scope} does not hold version {version} (it keeps the last {_options.HistoryLimits.GetValueOrDefault(scope.Tier)}).");
        }

        var changes = new List<StateDiffEntry>();
        JsonDiff.Compare(string.Empty, Find(fromVersion), Find(toVersion), changes);
        return changes;
    }

    private sealed class AutoCheckpoint
    {
        public int Changes;
        public long LastTicks;
        public int Running;
    }
}
