using StateKit.Adapters;

namespace StateKit;

/// <summary>A session id from outside is malformed (not 22 URL-safe characters).</summary>
public sealed class InvalidSessionIdException : ArgumentException
{
    /// <summary>Initializes a new instance of the <see cref="InvalidSessionIdException"/> class.</summary>
    /// <param name="sessionId">The id, shortened for the message.</param>
    public InvalidSessionIdException(string? sessionId)
        : base($"'{StateKeys.Printable(StateKeys.RedactSessionId(sessionId))}' is not a valid session id: ids are 22 URL-safe characters (A–Z, a–z, 0–9, '-', '_').", "sessionId")
    {
    }
}
