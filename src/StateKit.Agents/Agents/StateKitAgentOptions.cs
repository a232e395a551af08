using System.ComponentModel.DataAnnotations;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace StateKit.Agents;

/// <summary>The options of StateKit.Agents, bound from <c>StateKit:Agents</c>.</summary>
public sealed class StateKitAgentOptions
{
    /// <summary>The configuration section name, under <c>StateKit</c>: <c>Agents</c>.</summary>
    public const string SectionName = "Agents";

    /// <summary>
    /// Gets or sets how many of a conversation's newest messages are given to the agent on each run; 0 gives them all.
    /// </summary>
    /// <value>The default value is 0.</value>
    [Range(0, int.MaxValue)]
    public int HistoryMaxMessages { get; set; }

    /// <summary>
    /// Gets or sets a budget for the history given to the agent: the newest messages whose total
    /// <see cref="MessageCost"/> fits are given, never part of a message; 0 sets no budget.
    /// </summary>
    /// <value>The default value is 0.</value>
    [Range(0, int.MaxValue)]
    public int HistoryBudget { get; set; }

    /// <summary>
    /// Gets or sets what one message costs against <see cref="HistoryBudget"/>: by default the length of its text
    /// (<see cref="ChatMessage.Text"/>) plus one, so non-text messages (tool calls) count too. Return a token estimate
    /// to budget in tokens.
    /// </summary>
    public Func<ChatMessage, int> MessageCost { get; set; } = static m => m.Text.Length + 1;

    /// <summary>Gets or sets how many of a conversation's newest messages are kept in the store; 0 keeps all.</summary>
    /// <value>The default value is 0.</value>
    [Range(0, int.MaxValue)]
    public int HistoryRetainMessages { get; set; }

    /// <summary>
    /// Gets or sets a reducer (for example a <c>MessageCountingChatReducer</c>, a summarizing reducer, or a compaction
    /// strategy's <c>AsChatReducer()</c>); <see langword="null"/> for none.
    /// </summary>
    public IChatReducer? ChatReducer { get; set; }

    /// <summary>
    /// Gets or sets when <see cref="ChatReducer"/> runs, as in <see cref="InMemoryChatHistoryProvider"/>: before the
    /// history is given to the agent (the stored messages stay as they are), or after messages are added (the reduced
    /// history replaces the stored one; see <see cref="StateKitChatHistoryProvider"/>).
    /// </summary>
    public InMemoryChatHistoryProviderOptions.ChatReducerTriggerEvent ReducerTriggerEvent { get; set; } =
        InMemoryChatHistoryProviderOptions.ChatReducerTriggerEvent.BeforeMessagesRetrieval;

    /// <summary>Gets or sets the scope new conversations are kept in when a session names none.</summary>
    /// <value>The default value is <see cref="StateScope.Global"/>.</value>
    public StateScope ConversationScope { get; set; } = StateScope.Global;

    /// <summary>
    /// Gets or sets whether agent sessions are kept per agent (<see cref="AIAgent.Id"/> is part of the key, as in Agent
    /// Framework's in-memory store), so two agents never read each other's session under the same
    /// <see cref="AgentSessionStoreKey"/>. Give each agent a stable id (<c>ChatClientAgentOptions.Id</c>): an agent
    /// without one gets a new random id per process, and finds no session saved by an earlier process.
    /// </summary>
    /// <remarks>
    /// Sessions saved by StateKit.Agents 0.1 were not keyed by agent; they are found again only with
    /// <see langword="false"/>, which keeps that layout (agents that must not share sessions then need different
    /// partitions).
    /// </remarks>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool SessionsPerAgent { get; set; } = true;

    /// <summary>Gets or sets what saving an agent session does when another instance saved it since it was read.</summary>
    /// <value>The default value is <see cref="AgentSessionConflict.Throw"/>.</value>
    public AgentSessionConflict SessionConflict { get; set; } = AgentSessionConflict.Throw;

    /// <summary>Gets or sets how long a saved agent session lives without being saved again; <see langword="null"/> keeps it.</summary>
    public TimeSpan? SessionTimeToLive { get; set; }

    /// <summary>Gets or sets how many workflow checkpoints are kept per workflow session (the newest); 0 keeps all.</summary>
    /// <value>The default value is 0.</value>
    [Range(0, int.MaxValue)]
    public int MaxCheckpointsPerSession { get; set; }
}

/// <summary>What saving an agent session does when the stored session changed since this instance read or saved it.</summary>
public enum AgentSessionConflict
{
    /// <summary>Throws <see cref="StateConflictException"/>; nothing is written. Read the session again and retry.</summary>
    Throw,

    /// <summary>Writes anyway (last writer wins).</summary>
    Overwrite,
}
