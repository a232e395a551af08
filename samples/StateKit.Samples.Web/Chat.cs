namespace StateKit.Samples.Web;

/// <summary>The sample's session state (the conversation itself is a list in the session's scope).</summary>
/// <param name="User">Who signed in, if anyone.</param>
public sealed record ChatSession(string? User = null);

/// <summary>One chat message.</summary>
/// <param name="Role"><c>user</c> or <c>assistant</c>.</param>
/// <param name="Text">The text.</param>
public sealed record ChatMessage(string Role, string Text);

/// <summary>A chat request body.</summary>
/// <param name="Text">The user's message.</param>
public sealed record ChatRequest(string Text);

/// <summary>A sign-in request body.</summary>
/// <param name="Name">The user's name.</param>
public sealed record SignInRequest(string Name);

/// <summary>The answer to a chat turn.</summary>
/// <param name="Turns">The conversation's turn count.</param>
/// <param name="Reply">The assistant's reply.</param>
/// <param name="Messages">How many messages the conversation has now.</param>
public sealed record ChatAnswer(int Turns, string Reply, long Messages);

/// <summary>What the page shows on load.</summary>
/// <param name="HasSession">Whether the visitor has a stored session (its id is never in a body: it is a secret the HttpOnly cookie keeps from scripts).</param>
/// <param name="User">Who signed in.</param>
/// <param name="Turns">The turn count.</param>
/// <param name="History">The conversation.</param>
public sealed record SessionView(bool HasSession, string? User, int Turns, IReadOnlyList<ChatMessage> History);

/// <summary>The deterministic "assistant" (no model needed) and the names the sample uses.</summary>
public static class Chat
{
    /// <summary>The session-scoped list that holds the conversation.</summary>
    public const string History = "chat";

    /// <summary>The longest message accepted.</summary>
    public const int MaxTextLength = 2000;

    /// <summary>The most messages a session's history keeps (the newest) unless <c>Chat:MaxHistoryMessages</c> says otherwise.</summary>
    public const int MaxHistoryMessages = 200;

    /// <summary>Echoes the message with what the session remembers.</summary>
    /// <param name="text">The user's message.</param>
    /// <param name="session">The session state.</param>
    /// <returns>The reply.</returns>
    public static string Reply(string text, ChatSession session) =>
        $"Echo{(session.User is null ? string.Empty : $" for {session.User}")}: {text}";
}
