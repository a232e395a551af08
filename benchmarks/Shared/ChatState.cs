using System.Text.Json;

namespace StateKit.Benchmarks;

/// <summary>One message of a chat conversation.</summary>
/// <param name="Role">user or assistant.</param>
/// <param name="Text">The message text.</param>
public sealed record ChatMessage(string Role, string Text);

/// <summary>A chat-session state of a chosen JSON size: a user, a turn counter and the recent messages.</summary>
public sealed class ChatState
{
    /// <summary>Gets or sets the user.</summary>
    public string UserId { get; set; } = "user-42";

    /// <summary>Gets or sets the number of completed turns.</summary>
    public int Turns { get; set; }

    /// <summary>Gets or sets the recent messages.</summary>
    public List<ChatMessage> Messages { get; set; } = [];

    /// <summary>Creates a state whose JSON is about <paramref name="bytes"/> long (web defaults).</summary>
    public static ChatState OfSize(int bytes)
    {
        var state = new ChatState();
        while (JsonSerializer.SerializeToUtf8Bytes(state, JsonSerializerOptions.Web).Length < bytes)
        {
            var n = state.Messages.Count;
            state.Messages.Add(new ChatMessage(n % 2 == 0 ? "user" : "assistant", $"Message {n}: " + new string((char)('a' + (n % 26)), 160)));
        }

        return state;
    }

    /// <summary>A copy that can be changed without touching this one (messages are immutable records).</summary>
    public ChatState Copy() => new() { UserId = UserId, Turns = Turns, Messages = [.. Messages] };

    /// <summary>One turn: counts it and replaces the newest message, so the size stays the same.</summary>
    public ChatState NextTurn()
    {
        Turns++;
        Messages[^1] = Messages[^1] with { Text = $"Turn {Turns}: " + Messages[^1].Text[^160..] };
        return this;
    }
}

/// <summary>
/// The same chat-session state as <see cref="ChatState"/>, immutable: a turn makes a new state that shares the unchanged
/// messages. Marked <see cref="ImmutableStateAttribute"/>, so StateKit may hand the same decoded instance to every reader,
/// and <see cref="System.ComponentModel.ImmutableObjectAttribute"/>, so HybridCache does too.
/// </summary>
/// <param name="UserId">The user.</param>
/// <param name="Turns">The number of completed turns.</param>
/// <param name="Messages">The recent messages.</param>
[ImmutableState]
[System.ComponentModel.ImmutableObject(true)]
public sealed record ImmutableChatState(string UserId, int Turns, System.Collections.Immutable.ImmutableArray<ChatMessage> Messages)
{
    /// <summary>The immutable copy of a mutable state.</summary>
    /// <param name="state">The state.</param>
    /// <returns>The copy.</returns>
    public static ImmutableChatState From(ChatState state) => new(state.UserId, state.Turns, [.. state.Messages]);

    /// <summary>One turn, as <see cref="ChatState.NextTurn"/> does it, into a new state.</summary>
    /// <returns>The next state.</returns>
    public ImmutableChatState NextTurn() =>
        this with { Turns = Turns + 1, Messages = Messages.SetItem(Messages.Length - 1, Messages[^1] with { Text = $"Turn {Turns + 1}: " + Messages[^1].Text[^160..] }) };
}
