namespace StateKit.Internal;

/// <summary>
/// Lets checkpoints of a session's scope include the session's state (<see cref="IStateCheckpointParticipant"/>).
/// A session manager the application registered itself takes no part.
/// </summary>
/// <typeparam name="TSession">The state type.</typeparam>
internal sealed class SessionCheckpointParticipant<TSession>(ISessionManager<TSession> sessions) : IStateCheckpointParticipant
{
    public string PartName => (sessions as IStateCheckpointParticipant)?.PartName ?? "session:" + typeof(TSession).FullName;

    public ValueTask<byte[]?> CaptureAsync(StateScope scope, CancellationToken cancellationToken) =>
        sessions is IStateCheckpointParticipant manager ? manager.CaptureAsync(scope, cancellationToken) : ValueTask.FromResult<byte[]?>(null);

    public ValueTask<bool> RestoreAsync(StateScope scope, byte[] part, CancellationToken cancellationToken) =>
        sessions is IStateCheckpointParticipant manager ? manager.RestoreAsync(scope, part, cancellationToken) : ValueTask.FromResult(false);
}
