using System.Buffers.Binary;
using System.Text.Json;
using StateKit.Adapters;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <content>
/// Version history, reads and diffs. History is a ring of entries per key: version v is kept in slot v mod limit
/// (<see cref="ScopeKeys.History"/>), written in the same batch as the value, and lives as long as the value written
/// with it. Only versions of the current value's window are read, and a record counts only when it holds the version
/// asked for, so records of an older generation (a value that expired or was deleted and started again at version 1)
/// are never mixed in, and concurrent writers cannot push newer versions out.
/// </content>
internal sealed partial class StateProvider
{
    private static byte[] HistoryRecord(long version, DateTimeOffset at, byte[] value)
    {
        var record = new byte[16 + value.Length];
        BinaryPrimitives.WriteInt64LittleEndian(record, version);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(8), at.UtcTicks);
        value.CopyTo(record, 16);
        return record;
    }

    private int HistoryLimit(StateScope scope) => _options.HistoryLimits.GetValueOrDefault(scope.Tier);

    /// <summary>Removes the history records of a value that was at <paramref name="version"/>.</summary>
    private async ValueTask DeleteHistoryAsync(StateScope scope, string key, long version, CancellationToken cancellationToken)
    {
        var limit = HistoryLimit(scope);
        for (var v = Math.Max(1, version - limit + 1); limit > 0 && v <= version; v++)
        {
            await _store.DeleteAsync(ScopeKeys.History(scope, key, v, limit), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<List<(long Version, DateTimeOffset At, ReadOnlyMemory<byte> Value)>> ReadHistoryAsync(StateScope scope, string key, CancellationToken cancellationToken)
    {
        var result = new List<(long, DateTimeOffset, ReadOnlyMemory<byte>)>();
        var limit = HistoryLimit(scope);
        var current = limit <= 0 ? null : await _store.GetAsync(ScopeKeys.Value(scope, key), cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return result;
        }

        var first = Math.Max(1, current.Version - limit + 1);
        var keys = new string[current.Version - first + 1];
        for (var v = first; v <= current.Version; v++)
        {
            keys[v - first] = ScopeKeys.History(scope, key, v, limit);
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

            throw new StateNotFoundException($"The history of '{StateKeys.Printable(key)}' in {scope} does not hold version {version} (it keeps the last {_options.HistoryLimits.GetValueOrDefault(scope.Tier)}).");
        }

        var changes = new List<StateDiffEntry>();
        JsonDiff.Compare(string.Empty, Find(fromVersion), Find(toVersion), changes);
        return changes;
    }
}
