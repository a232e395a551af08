using System.Text.Json.Serialization;

namespace StateKit.Internal;

/// <summary>A checkpoint's content: encoded values and list items by key.</summary>
/// <param name="Entries">Values (as stored, envelope included) by key.</param>
/// <param name="Lists">List items by list key.</param>
/// <param name="Parts">
/// State kept outside the scope's keys, by <see cref="IStateCheckpointParticipant.PartName"/> (a session's typed state);
/// absent in checkpoints written before parts existed.
/// </param>
internal sealed record CheckpointData(Dictionary<string, byte[]> Entries, Dictionary<string, byte[][]> Lists, Dictionary<string, byte[]>? Parts = null);

/// <summary>What a checkpoint listing shows without loading the data.</summary>
internal sealed record CheckpointInfoRecord(string Id, string Name, DateTimeOffset CreatedAt, int EntryCount, int ListCount);

/// <summary>Source-generated JSON for checkpoints (trimming- and AOT-friendly).</summary>
[JsonSerializable(typeof(CheckpointData))]
[JsonSerializable(typeof(CheckpointInfoRecord))]
internal sealed partial class CheckpointJson : JsonSerializerContext;
