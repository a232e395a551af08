using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace StateKit.Samples.Agent;

/// <summary>
/// A local, deterministic stand-in for a model: it asks for the <c>get_weather</c> tool when the weather comes up,
/// reports a tool's result, and otherwise answers with what it remembers. Enough to show that history survives.
/// </summary>
internal sealed class ScriptedChatClient : IChatClient
{
    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var history = messages.ToList();
        var last = history[^1];
        var reply = last.Contents.OfType<FunctionResultContent>().FirstOrDefault() is { } result
            ? new ChatMessage(ChatRole.Assistant, $"The weather: {result.Result}.")
            : last.Text.Contains("weather", StringComparison.OrdinalIgnoreCase)
                ? new ChatMessage(ChatRole.Assistant, [new FunctionCallContent(Guid.NewGuid().ToString("N"), "get_weather", new Dictionary<string, object?> { ["city"] = "Oslo" })])
                : new ChatMessage(ChatRole.Assistant, $"You said \"{last.Text}\". I remember {history.Count(m => m.Role == ChatRole.User) - 1} earlier things you said.");
        return Task.FromResult(new ChatResponse(reply));
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
