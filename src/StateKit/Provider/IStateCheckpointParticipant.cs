namespace StateKit.Internal;

/// <summary>
/// State kept outside a scope's keys that belongs in its checkpoints (a session's typed state, kept in the session
/// record). The provider asks every registered participant when it snapshots a scope and hands each its part back
/// when it restores one.
/// </summary>
internal interface IStateCheckpointParticipant
{
    /// <summary>Gets the name of the participant's part in a checkpoint; unique per participant.</summary>
    string PartName { get; }

    /// <summary>Captures the participant's state for <paramref name="scope"/>.</summary>
    /// <returns>The part, or <see langword="null"/> when the scope has none from this participant.</returns>
    ValueTask<byte[]?> CaptureAsync(StateScope scope, CancellationToken cancellationToken);

    /// <summary>Puts back a part captured earlier.</summary>
    /// <returns><see langword="false"/> when there is nothing to restore it into any more (the session has ended).</returns>
    ValueTask<bool> RestoreAsync(StateScope scope, byte[] part, CancellationToken cancellationToken);
}
