namespace StateKit;

/// <summary>There is no live session with this id (never existed, expired or deleted).</summary>
public sealed class SessionNotFoundException : KeyNotFoundException
{
    /// <summary>Initializes a new instance of the <see cref="SessionNotFoundException"/> class.</summary>
    /// <param name="sessionId">The id.</param>
    public SessionNotFoundException(string sessionId)
        : base($"There is no live session '{StateKit.Adapters.StateKeys.RedactSessionId(sessionId)}': it never existed, expired or was deleted.")
    {
        SessionId = sessionId;
    }

    /// <summary>Gets the id.</summary>
    public string SessionId { get; }
}
