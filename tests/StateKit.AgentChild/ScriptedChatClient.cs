using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace StateKit.AgentChild;

/// <summary>
/// A deterministic <see cref="IChatClient"/>: asked about the weather it calls the <c>get_weather</c> tool, given a
/// tool result it reports it, otherwise it answers with how many messages it was given. Records every request.
/// </summary>
public sealed class ScriptedChatClient : IChatClient
{
    /// <summary>Gets every request it was sent, in order.</summary>
    public List<List<ChatMessage>> Requests { get; } = [];

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        Requests.Add(list);
        var last = list[^1];
        if (last.Contents.OfType<FunctionResultContent>().FirstOrDefault() is { } result)
        {
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, $"The weather is {result.Result}.")));
        }

        if (last.Text.Contains("weather", StringComparison.OrdinalIgnoreCase))
        {
            var call = new FunctionCallContent("call-" + list.Count, "get_weather", new Dictionary<string, object?> { ["city"] = "Oslo" });
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, [call])));
        }

        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, $"I have seen {list.Count} messages; you said: {last.Text}")));
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
