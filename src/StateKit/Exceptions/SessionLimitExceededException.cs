namespace StateKit;

/// <summary>
/// A new session was refused: this instance already keeps <see cref="SessionOptions.MaxSessions"/> live sessions and
/// <see cref="SessionOptions.LimitBehavior"/> is <see cref="SessionLimitBehavior.Refuse"/>. Nothing was stored; retry
/// later (ASP.NET Core's StateKit problem mapping answers 429 with Retry-After).
/// </summary>
public sealed class SessionLimitExceededException : InvalidOperationException
{
    /// <summary>Initializes a new instance of the <see cref="SessionLimitExceededException"/> class.</summary>
    /// <param name="maxSessions">The limit.</param>
    public SessionLimitExceededException(int maxSessions)
        : base($"No new session was created: this instance keeps its limit of {maxSessions:N0} live sessions (SessionOptions.MaxSessions, LimitBehavior = Refuse). Retry later.")
    {
        MaxSessions = maxSessions;
    }

    /// <summary>Gets the limit that was reached.</summary>
    public int MaxSessions { get; }
}
