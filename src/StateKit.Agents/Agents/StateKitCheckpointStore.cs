using System.Text.Json;
using Microsoft.Agents.AI.Workflows;
using Microsoft.Agents.AI.Workflows.Checkpointing;
using StateKit.Agents.Internal;
using StateKit.Serialization;

namespace StateKit.Agents;

/// <summary>
/// Workflow checkpoints on any StateKit store (a <see cref="JsonCheckpointStore"/>): each checkpoint is a value, and each
/// workflow session has an index list of its checkpoints with their parents, oldest first. A workflow run resumes from
/// <c>CheckpointManager.CreateJson(store)</c> after a process restart on any store.
/// </summary>
/// <remarks>
/// A checkpoint's value is written before it joins the index, so the index never names a checkpoint that is not
/// there; a crash between the two leaves an unindexed value, which is never returned. With
/// <see cref="StateKitAgentOptions.MaxCheckpointsPerSession"/> the oldest checkpoints beyond the limit are removed.
/// </remarks>
public sealed class StateKitCheckpointStore : JsonCheckpointStore
{
    private readonly IStateStore _store;
    private readonly StateKitAgentOptions _options;
    private readonly StateValueCodec _codec;

    /// <summary>Initializes a new instance of the <see cref="StateKitCheckpointStore"/> class.</summary>
    /// <param name="store">The store checkpoints are kept in.</param>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    /// <param name="envelope">The envelope settings (compression); StateKit's defaults when <see langword="null"/>.</param>
    public StateKitCheckpointStore(IStateStore store, StateKitAgentOptions? options = null, StateEnvelopeOptions? envelope = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _options = options ?? new StateKitAgentOptions();
        _codec = AgentCodec.Create(envelope);
    }

    /// <inheritdoc />
    public override async ValueTask<CheckpointInfo> CreateCheckpointAsync(string sessionId, JsonElement value, CheckpointInfo? parent = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var checkpoint = new CheckpointInfo(sessionId, Guid.NewGuid().ToString("N"));
        await _store.SetAsync(AgentKeys.Checkpoint(sessionId, checkpoint.CheckpointId), _codec.Encode(value)).ConfigureAwait(false);
        var length = await _store.ListAppendAsync(AgentKeys.CheckpointIndex(sessionId), [_codec.Encode(new IndexEntry(checkpoint.CheckpointId, parent?.CheckpointId))]).ConfigureAwait(false);
        if (_options.MaxCheckpointsPerSession > 0 && length > _options.MaxCheckpointsPerSession)
        {
            await PruneAsync(sessionId).ConfigureAwait(false);
        }

        return checkpoint;
    }

    /// <inheritdoc />
    /// <exception cref="StateNotFoundException">The session has no such checkpoint.</exception>
    public override async ValueTask<JsonElement> RetrieveCheckpointAsync(string sessionId, CheckpointInfo key)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        ArgumentNullException.ThrowIfNull(key);
        var storeKey = AgentKeys.Checkpoint(sessionId, key.CheckpointId);
        var entry = await _store.GetAsync(storeKey).ConfigureAwait(false)
            ?? throw new StateNotFoundException($"Workflow session '{sessionId}' has no checkpoint '{key.CheckpointId}' in the StateKit store.");
        return _codec.Decode<JsonElement>(entry.Value.Span, storeKey);
    }

    /// <inheritdoc />
    public override async ValueTask<IEnumerable<CheckpointInfo>> RetrieveIndexAsync(string sessionId, CheckpointInfo? withParent = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var index = await ReadIndexAsync(sessionId).ConfigureAwait(false);
        return index
            .Where(e => withParent is null || e.Parent == withParent.CheckpointId)
            .Select(e => new CheckpointInfo(sessionId, e.Id))
            .ToList();
    }

    private async ValueTask<List<IndexEntry>> ReadIndexAsync(string sessionId)
    {
        var key = AgentKeys.CheckpointIndex(sessionId);
        var items = await _store.ListRangeAsync(key, 0, -1).ConfigureAwait(false);
        return items.Select(i => _codec.Decode<IndexEntry>(i.Span, key)!).ToList();
    }

    private async ValueTask PruneAsync(string sessionId)
    {
        // The index first, so that it never names a removed checkpoint; then the values it no longer names (read again
        // after the trim: another instance may have appended or pruned meanwhile).
        var before = await ReadIndexAsync(sessionId).ConfigureAwait(false);
        await _store.ListTrimAsync(AgentKeys.CheckpointIndex(sessionId), -_options.MaxCheckpointsPerSession, -1).ConfigureAwait(false);
        var after = (await ReadIndexAsync(sessionId).ConfigureAwait(false)).Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var removed in before.Where(e => !after.Contains(e.Id)))
        {
            await _store.DeleteAsync(AgentKeys.Checkpoint(sessionId, removed.Id)).ConfigureAwait(false);
        }
    }

    /// <summary>One index entry: a checkpoint and its parent.</summary>
    private sealed record IndexEntry(string Id, string? Parent);
}
