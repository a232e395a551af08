using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StateKit.Adapters;

namespace StateKit.Internal;

/// <summary>Checkpoints: create, list, restore (all or nothing), delete, and automatic checkpoints.</summary>
internal sealed partial class StateProvider
{
    private const string AutoName = "auto";

    public async ValueTask<StateCheckpointInfo> CreateCheckpointAsync(StateScope scope, string? name = null, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Write, scope, null, cancellationToken).ConfigureAwait(false);
        return await CreateCheckpointCoreAsync(scope, name ?? "manual", cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<StateCheckpointInfo>> ListCheckpointsAsync(StateScope scope, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Read, scope, null, cancellationToken).ConfigureAwait(false);
        var ids = (await ReadIndexAsync(scope, cancellationToken).ConfigureAwait(false)).Checkpoints;
        var infos = await _store.GetManyAsync(ids.Select(id => ScopeKeys.CheckpointInfo(scope, id)).ToArray(), cancellationToken).ConfigureAwait(false);
        return infos.Values
            .Select(e => ToInfo(scope, JsonSerializer.Deserialize(e.Value.Span, CheckpointJson.Default.CheckpointInfoRecord)!))
            .OrderBy(i => i.Id, StringComparer.Ordinal)
            .ToArray();
    }

    public async ValueTask<bool> DeleteCheckpointAsync(StateScope scope, string checkpointId, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Write, scope, ValidKey(checkpointId), cancellationToken).ConfigureAwait(false);
        var existed = await _store.DeleteAsync(ScopeKeys.CheckpointInfo(scope, checkpointId), cancellationToken: cancellationToken).ConfigureAwait(false);
        return await _store.DeleteAsync(ScopeKeys.Checkpoint(scope, checkpointId), cancellationToken: cancellationToken).ConfigureAwait(false) || existed;
    }

    public async ValueTask RestoreCheckpointAsync(StateScope scope, string checkpointId, CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(StateAccess.Write, scope, ValidKey(checkpointId), cancellationToken).ConfigureAwait(false);
        var target = await ReadCheckpointAsync(scope, checkpointId, "RestoreCheckpoint", cancellationToken).ConfigureAwait(false);

        // All or nothing: remember the scope as it is, apply the checkpoint, and on any failure put back what was there.
        var before = await SnapshotAsync(scope, cancellationToken).ConfigureAwait(false);
        await ApplyAllOrNothingAsync(scope, before, target, false, $"Restoring {scope} to checkpoint '{checkpointId}' failed, and so did putting the scope back; it may be partly restored.", cancellationToken).ConfigureAwait(false);

        await ChangedAsync(new StateChange(StateChangeKind.Restore, scope, checkpointId, 0, 0, PrincipalName, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<(int Values, int Lists)> ForkAsync(StateScope source, StateScope target, string? checkpointId = null, CancellationToken cancellationToken = default)
    {
        await AuthorizeForkAsync(source, target, checkpointId is null ? null : ValidKey(checkpointId), cancellationToken).ConfigureAwait(false);
        var data = checkpointId is null
            ? await SnapshotAsync(source, cancellationToken).ConfigureAwait(false)
            : await ReadCheckpointAsync(source, checkpointId, "Fork", cancellationToken).ConfigureAwait(false);
        return await ForkDataAsync(source, target, data, checkpointId ?? string.Empty, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<(int Values, int Lists)> ForkAsOfAsync(StateScope source, StateScope target, DateTimeOffset asOf, CancellationToken cancellationToken = default)
    {
        await AuthorizeForkAsync(source, target, null, cancellationToken).ConfigureAwait(false);
        var limit = HistoryLimit(source);
        if (limit <= 0)
        {
            throw new InvalidOperationException($"{source} keeps no history (StateProviderOptions.HistoryLimits for {source.Tier} is 0): fork it from a checkpoint or as it is now.");
        }

        var now = await SnapshotAsync(source, cancellationToken).ConfigureAwait(false);
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var key in now.Entries.Keys)
        {
            var history = await ReadHistoryAsync(source, key, cancellationToken).ConfigureAwait(false);
            var kept = history.Where(h => h.At <= asOf).ToList();
            if (kept.Count > 0)
            {
                entries[key] = kept.MaxBy(h => h.Version).Value.ToArray();
            }
            else if (history.Count == 0 || history.Min(h => h.Version) > 1)
            {
                throw new StateNotFoundException($"The history of '{StateKeys.Printable(key)}' in {source} does not reach back to {asOf:O}: it keeps the last {limit} versions.");
            }

            // Otherwise its first version was written after asOf: it did not exist then.
        }

        return await ForkDataAsync(source, target, new CheckpointData(entries, now.Lists, null), asOf.ToString("O", System.Globalization.CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask AuthorizeForkAsync(StateScope source, StateScope target, string? checkpointId, CancellationToken cancellationToken)
    {
        if (source == target)
        {
            throw new ArgumentException("A scope cannot be forked into itself; restore a checkpoint instead.", nameof(target));
        }

        await AuthorizeAsync(StateAccess.Read, source, checkpointId, cancellationToken).ConfigureAwait(false);
        await AuthorizeAsync(StateAccess.Write, target, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes <paramref name="data"/> into the empty <paramref name="target"/>, all or nothing.</summary>
    private async ValueTask<(int Values, int Lists)> ForkDataAsync(StateScope source, StateScope target, CheckpointData data, string from, CancellationToken cancellationToken)
    {
        var existing = await SnapshotAsync(target, cancellationToken).ConfigureAwait(false);
        if (existing.Entries.Keys.FirstOrDefault() is { } value)
        {
            var version = (await _store.GetAsync(ScopeKeys.Value(target, value), cancellationToken).ConfigureAwait(false))?.Version ?? 1;
            throw new StateConflictException(_store.Name, "Fork", ScopeKeys.Value(target, value), 0, version);
        }

        if (existing.Lists.Keys.FirstOrDefault() is { } list)
        {
            throw new StateConflictException(_store.Name, "Fork", ScopeKeys.List(target, list), 0, existing.Lists[list].Length);
        }

        // Values are written only where none exists (a value created in the target meanwhile is a conflict); the
        // session part of a checkpoint stays with its own scope.
        data = new CheckpointData(data.Entries, data.Lists, null);
        await ApplyAllOrNothingAsync(target, existing, data, true, $"Forking {source} into {target} failed, and so did removing what was copied; {target} may hold part of it.", cancellationToken).ConfigureAwait(false);

        await ChangedAsync(new StateChange(StateChangeKind.Restore, target, from, 0, 0, PrincipalName, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        return (data.Entries.Count, data.Lists.Count);
    }

    /// <summary>
    /// Turns the scope from <paramref name="current"/> into <paramref name="target"/>; on a failure midway it puts the
    /// scope back to <paramref name="current"/> before rethrowing (<paramref name="failedMessage"/> when that fails too).
    /// </summary>
    private async ValueTask ApplyAllOrNothingAsync(StateScope scope, CheckpointData current, CheckpointData target, bool ifAbsent, string failedMessage, CancellationToken cancellationToken)
    {
        try
        {
            await ApplyAsync(scope, current, target, cancellationToken, ifAbsent).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is not OperationCanceledException)
        {
            try
            {
                var partial = await SnapshotAsync(scope, CancellationToken.None).ConfigureAwait(false);
                await ApplyAsync(scope, partial, current, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception rollback)
            {
                throw new AggregateException(failedMessage, failure, rollback);
            }

            throw;
        }
    }

    private async ValueTask<CheckpointData> ReadCheckpointAsync(StateScope scope, string checkpointId, string operation, CancellationToken cancellationToken)
    {
        var data = await _store.GetAsync(ScopeKeys.Checkpoint(scope, checkpointId), cancellationToken).ConfigureAwait(false)
            ?? throw new StateNotFoundException($"{scope} has no checkpoint '{StateKeys.Printable(checkpointId)}'.");
        return JsonSerializer.Deserialize(data.Value.Span, CheckpointJson.Default.CheckpointData)
            ?? throw new StateCorruptedException(_store.Name, operation, ScopeKeys.Checkpoint(scope, checkpointId), "the checkpoint is empty");
    }

    private static StateCheckpointInfo ToInfo(StateScope scope, CheckpointInfoRecord record) =>
        new(record.Id, scope, record.Name, record.CreatedAt, record.EntryCount, record.ListCount);

    private async ValueTask<StateCheckpointInfo> CreateCheckpointCoreAsync(StateScope scope, string name, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var id = $"{now.UtcDateTime:yyyyMMdd'T'HHmmssfffffff'Z'}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant()}";
        var snapshot = await SnapshotAsync(scope, cancellationToken).ConfigureAwait(false);
        var info = new CheckpointInfoRecord(id, name, now, snapshot.Entries.Count, snapshot.Lists.Count);
        await _store.SetAsync(ScopeKeys.Checkpoint(scope, id), JsonSerializer.SerializeToUtf8Bytes(snapshot, CheckpointJson.Default.CheckpointData), StateWriteOptions.IfNotExists, cancellationToken).ConfigureAwait(false);
        await _store.SetAsync(ScopeKeys.CheckpointInfo(scope, id), JsonSerializer.SerializeToUtf8Bytes(info, CheckpointJson.Default.CheckpointInfoRecord), StateWriteOptions.IfNotExists, cancellationToken).ConfigureAwait(false);
        await IndexAsync(scope, ScopeKeys.IndexedCheckpoint + id, cancellationToken).ConfigureAwait(false);
        return ToInfo(scope, info);
    }

    private async ValueTask<CheckpointData> SnapshotAsync(StateScope scope, CancellationToken cancellationToken)
    {
        var (keys, lists, _, _) = await ReadIndexAsync(scope, cancellationToken).ConfigureAwait(false); // streams are append-only: not part of a checkpoint
        if (keys.Count + lists.Count > _options.MaxCheckpointKeys)
        {
            throw new InvalidOperationException($"{scope} holds {keys.Count} values and {lists.Count} lists, more than MaxCheckpointKeys ({_options.MaxCheckpointKeys}) allows in a checkpoint.");
        }

        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (storeKey, entry) in await _store.GetManyAsync(keys.Select(k => ScopeKeys.Value(scope, k)).ToArray(), cancellationToken).ConfigureAwait(false))
        {
            entries[storeKey[ScopeKeys.ValuePrefix(scope).Length..]] = entry.Value.ToArray();
        }

        var listItems = new Dictionary<string, byte[][]>(StringComparer.Ordinal);
        foreach (var list in lists)
        {
            var items = await _store.ListRangeAsync(ScopeKeys.List(scope, list), 0, -1, cancellationToken).ConfigureAwait(false);
            if (items.Count > 0)
            {
                listItems[list] = items.Select(i => i.ToArray()).ToArray();
            }
        }

        Dictionary<string, byte[]>? parts = null;
        foreach (var participant in Participants)
        {
            if (await participant.CaptureAsync(scope, cancellationToken).ConfigureAwait(false) is { } part)
            {
                (parts ??= new(StringComparer.Ordinal))[participant.PartName] = part;
            }
        }

        return new CheckpointData(entries, listItems, parts);
    }

    /// <summary>The participants that keep state of a scope outside its keys (session managers), resolved on first use.</summary>
    private IStateCheckpointParticipant[] Participants => _participants ??= _services.GetServices<IStateCheckpointParticipant>().ToArray();

    /// <summary>
    /// Turns the scope from <paramref name="current"/> into <paramref name="target"/>, touching only what differs;
    /// <paramref name="ifAbsent"/> writes each value only where none exists (a fork into an empty scope).
    /// </summary>
    private async ValueTask ApplyAsync(StateScope scope, CheckpointData current, CheckpointData target, CancellationToken cancellationToken, bool ifAbsent = false)
    {
        foreach (var key in current.Entries.Keys.Where(k => !target.Entries.ContainsKey(k)))
        {
            await DeleteValueAsync(scope, key, null, cancellationToken).ConfigureAwait(false);
        }

        foreach (var (key, bytes) in target.Entries)
        {
            if (!current.Entries.TryGetValue(key, out var now) || !now.AsSpan().SequenceEqual(bytes))
            {
                await WriteEncodedAsync(scope, key, bytes, ifAbsent ? 0 : null, null, StateChangeKind.Restore, null, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var list in current.Lists.Keys.Where(k => !target.Lists.ContainsKey(k)))
        {
            await _store.ListDeleteAsync(ScopeKeys.List(scope, list), cancellationToken).ConfigureAwait(false);
        }

        foreach (var (list, items) in target.Lists)
        {
            if (current.Lists.TryGetValue(list, out var now) && now.Length == items.Length && now.Zip(items).All(p => p.First.AsSpan().SequenceEqual(p.Second)))
            {
                continue;
            }

            await _store.ListDeleteAsync(ScopeKeys.List(scope, list), cancellationToken).ConfigureAwait(false);
            await _store.ListAppendAsync(ScopeKeys.List(scope, list), items.Select(i => (ReadOnlyMemory<byte>)i).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
            await IndexAsync(scope, ScopeKeys.IndexedList + list, cancellationToken).ConfigureAwait(false);
        }

        foreach (var (name, part) in target.Parts ?? [])
        {
            if ((current.Parts is null || !current.Parts.TryGetValue(name, out var now) || !now.AsSpan().SequenceEqual(part))
                && Participants.FirstOrDefault(p => p.PartName == name) is { } participant)
            {
                await participant.RestoreAsync(scope, part, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask CountForAutoCheckpointAsync(StateScope scope, CancellationToken cancellationToken)
    {
        if (_options.AutoCheckpointEveryChanges <= 0 && _options.AutoCheckpointInterval is null)
        {
            return;
        }

        var nowTicks = _time.GetUtcNow().UtcTicks;
        var state = _auto.GetOrAdd(scope, _ => new AutoCheckpoint { LastTicks = nowTicks });
        var changes = Interlocked.Increment(ref state.Changes);
        var due = (_options.AutoCheckpointEveryChanges > 0 && changes >= _options.AutoCheckpointEveryChanges)
            || (_options.AutoCheckpointInterval is { } interval && nowTicks - Interlocked.Read(ref state.LastTicks) >= interval.Ticks);
        if (!due || Interlocked.Exchange(ref state.Running, 1) == 1)
        {
            return;
        }

        try
        {
            Interlocked.Exchange(ref state.Changes, 0);
            Interlocked.Exchange(ref state.LastTicks, nowTicks);
            await CreateCheckpointCoreAsync(scope, AutoName, cancellationToken).ConfigureAwait(false);
            var autos = (await ListCheckpointsAsync(scope, cancellationToken).ConfigureAwait(false)).Where(c => c.Name == AutoName).ToArray();
            foreach (var old in autos.Take(Math.Max(0, autos.Length - _options.MaxAutoCheckpoints)))
            {
                await DeleteCheckpointAsync(scope, old.Id, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Volatile.Write(ref state.Running, 0);
        }
    }
}
