using StateKit.Adapters;
using StateKit.Internal;

namespace StateKit.Agents.Internal;

/// <summary>Where StateKit.Agents keeps things in the store.</summary>
internal static class AgentKeys
{
    /// <summary>A conversation's message list: in its scope, so a conversation in a session's scope ends with the session.</summary>
    public static string Conversation(StateScope scope, string id) => ScopeKeys.List(scope, ConversationList(id));

    /// <summary>A conversation's compacted prefix (the reducer's summary of the messages trimmed from the list).</summary>
    public static string ConversationPrefix(StateScope scope, string id) => ScopeKeys.Value(scope, ConversationPrefixValue(id));

    /// <summary>The conversation's list as its scope's index names it (<c>l:…</c>).</summary>
    public static string ConversationIndexEntry(string id) => ScopeKeys.IndexedList + ConversationList(id);

    /// <summary>The conversation's prefix value as its scope's index names it (<c>v:…</c>).</summary>
    public static string ConversationPrefixIndexEntry(string id) => ScopeKeys.IndexedValue + ConversationPrefixValue(id);

    /// <summary>A saved agent session: under its agent's id, or (<paramref name="agentId"/> null) in the layout of 0.1, shared by agents.</summary>
    public static string Session(string? agentId, string sessionId, IReadOnlyDictionary<string, string> partitions)
    {
        var key = (agentId is null ? StoreKeyLayout.Agents + "sessions/" : StoreKeyLayout.Agents + "agent-sessions/" + Segment(agentId) + "/") + Segment(sessionId);
        foreach (var (name, value) in partitions.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            key += "/" + Segment(name) + "=" + Segment(value);
        }

        return key;
    }

    /// <summary>A workflow checkpoint's value.</summary>
    public static string Checkpoint(string sessionId, string checkpointId) => StoreKeyLayout.Agents + "workflows/" + Segment(sessionId) + "/c/" + Segment(checkpointId);

    /// <summary>The marker of a workflow run that has finished (<see cref="StateKitWorkflowRuns"/>).</summary>
    public static string WorkflowCompleted(string sessionId) => StoreKeyLayout.Agents + "workflows/" + Segment(sessionId) + "/completed";

    /// <summary>A workflow session's checkpoint index (a list, oldest first).</summary>
    public static string CheckpointIndex(string sessionId) => StoreKeyLayout.Agents + "workflows/" + Segment(sessionId) + "/index";

    private static string ConversationList(string id) => "agents/chat/" + Segment(id);

    private static string ConversationPrefixValue(string id) => "agents/chat-prefix/" + Segment(id);

    private static string Segment(string text) => StateKeys.Segment(text);
}
