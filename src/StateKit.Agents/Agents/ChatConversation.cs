namespace StateKit.Agents;

/// <summary>A stored conversation: its id and the scope it lives in (a session's scope ends it with the session).</summary>
/// <param name="Scope">The scope.</param>
/// <param name="Id">The conversation id.</param>
public sealed record ChatConversation(StateScope Scope, string Id)
{
    /// <summary>A new conversation with a random id.</summary>
    /// <param name="scope">The scope it lives in.</param>
    /// <returns>The conversation.</returns>
    public static ChatConversation New(StateScope scope) => new(scope, Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()));
}
