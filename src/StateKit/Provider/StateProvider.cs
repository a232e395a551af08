using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>
/// The <see cref="IStateProvider"/> over an <see cref="IStateStore"/>. Store keys of a scope start with
/// <c>{tier}/{owner}/</c>, then <c>v/</c> values, <c>h/</c> history lists, <c>l/</c> lists, <c>c/</c> checkpoint data,
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
        return await UpdateCoreAsync(scope, key, update, null, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> DeleteAsync(StateScope scope, string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Write, scope, ValidKey(key), cancellationToken).ConfigureAwait(false);
        var storeKey = ValueKey(scope, key);
        // The version before the delete is only reported to audit sinks: read it only when someone listens.
        var before = expectedVersion ?? (_auditSinks.Length == 0 ? 0 : (await _store.GetAsync(storeKey, cancellationToken).ConfigureAwait(false))?.Version ?? 0);
        var deleted = await _store.DeleteAsync(storeKey, expectedVersion, cancellationToken).ConfigureAwait(false);
        await _store.ListDeleteAsync(scope.StorePrefix + "h/" + key, cancellationToken).ConfigureAwait(false);
        if (deleted)
        {
            await ChangedAsync(new StateChange(StateChangeKind.Delete, scope, key, before, 0, PrincipalName, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        }

        return deleted;
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

        var length = await _store.ListAppendAsync(scope.StorePrefix + "l/" + listKey, encoded, cancellationToken: cancellationToken).ConfigureAwait(false);
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

        foreach (var key in values)
        {
            await _store.ListDeleteAsync(prefix + "h/" + key, cancellationToken).ConfigureAwait(false);
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
            var version = await WriteAsync(scope, key, next, entry?.Version ?? 0, timeToLive, cancellationToken).ConfigureAwait(false);
            return new StateValue<T>(key, next, version, null);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes an encoded value, records its history, audits it and counts it for automatic checkpoints.</summary>
    private async ValueTask<long> WriteAsync<T>(StateScope scope, string key, T value, long? expectedVersion, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        var bytes = _codec.Encode(value);
        return await WriteEncodedAsync(scope, key, bytes, expectedVersion, timeToLive, StateChangeKind.Set, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<long> WriteEncodedAsync(StateScope scope, string key, byte[] bytes, long? expectedVersion, TimeSpan? timeToLive, StateChangeKind kind, CancellationToken cancellationToken)
    {
        var version = await _store.SetAsync(ValueKey(scope, key), bytes, new StateWriteOptions(expectedVersion, timeToLive), cancellationToken).ConfigureAwait(false);
        if (version == 1)
        {
            await IndexAsync(scope, ValueEntry + key, cancellationToken).ConfigureAwait(false); // a new key
        }

        await RecordHistoryAsync(scope, key, version, bytes, cancellationToken).ConfigureAwait(false);
        await ChangedAsync(new StateChange(kind, scope, key, version - 1, version, PrincipalName, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        return version;
    }

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
    private async ValueTask IndexAsync(StateScope scope, string entry, CancellationToken cancellationToken) =>
        await _store.ListAppendAsync(scope.StorePrefix + IndexName, [System.Text.Encoding.UTF8.GetBytes(entry)], cancellationToken: cancellationToken).ConfigureAwait(false);

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

    private async ValueTask RecordHistoryAsync(StateScope scope, string key, long version, byte[] value, CancellationToken cancellationToken)
    {
        var limit = _options.HistoryLimits.GetValueOrDefault(scope.Tier);
        if (limit <= 0)
        {
            return;
        }

        var historyKey = scope.StorePrefix + "h/" + key;
        var length = await _store.ListAppendAsync(historyKey, [HistoryRecord(version, _time.GetUtcNow(), value)], cancellationToken: cancellationToken).ConfigureAwait(false);
        if (length > limit)
        {
            await _store.ListTrimAsync(historyKey, -limit, -1, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<List<(long Version, DateTimeOffset At, ReadOnlyMemory<byte> Value)>> ReadHistoryAsync(StateScope scope, string key, CancellationToken cancellationToken)
    {
        var historyKey = scope.StorePrefix + "h/" + key;
        var records = await _store.ListRangeAsync(historyKey, 0, -1, cancellationToken).ConfigureAwait(false);
        var result = new List<(long, DateTimeOffset, ReadOnlyMemory<byte>)>(records.Count);
        foreach (var record in records)
        {
            if (record.Length < 16)
            {
                throw new StateCorruptedException(_store.Name, "GetHistory", historyKey, $"a history record has {record.Length} bytes, fewer than its 16-byte header");
            }

            result.Add((BinaryPrimitives.ReadInt64LittleEndian(record.Span), new DateTimeOffset(BinaryPrimitives.ReadInt64LittleEndian(record.Span[8..]), TimeSpan.Zero), record[16..]));
        }

        result.Sort((a, b) => a.Item1.CompareTo(b.Item1));
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
        JsonDiff.Compare("$", Find(fromVersion), Find(toVersion), changes);
        return changes;
    }

    private sealed class AutoCheckpoint
    {
        public int Changes;
        public long LastTicks;
        public int Running;
    }
}
