using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using StateKit.Agents.Internal;
using StateKit.Internal;
using StateKit.Serialization;

namespace StateKit.Agents;

/// <summary>
/// A <see cref="ChatHistoryProvider"/> on any StateKit store: each conversation is a StateKit list, appended as the agent
/// runs (one atomic append per run: the request and response messages of a run stay together and in order, and two
/// instances writing one conversation keep every message exactly once) and read back from its end (the newest
/// <see cref="StateKitAgentOptions.HistoryMaxMessages"/> messages, or those within <see cref="StateKitAgentOptions.HistoryBudget"/>),
/// so a long conversation costs what its window costs.
/// </summary>
/// <remarks>
/// <para>
/// The session's conversation is kept in its <see cref="AgentSession.StateBag"/> (id and scope), so a session saved and
/// restored by the agent (or by <see cref="StateKitAgentSessionStore"/>) finds its messages again. Bind a session to a
/// known conversation, for example one in a StateKit session's scope, with <see cref="SetConversation"/>.
/// </para>
/// <para>
/// Messages are stored as JSON with Microsoft.Extensions.AI's options (every <see cref="AIContent"/> kind) inside
/// StateKit's checksummed envelope. Messages read from storage are as trustworthy as the storage: see the framework's
/// security note on <see cref="ChatHistoryProvider.ProvideChatHistoryAsync"/>.
/// </para>
/// <para>
/// With a <see cref="StateKitAgentOptions.ChatReducer"/> triggered after messages are added, the reduced history
/// replaces the stored one: the messages the reducer keeps as they are stay in the list, the ones it replaces (a
/// summary, say) are written as the conversation's prefix first, and only then are the replaced messages trimmed
/// from the list. One instance compacts a conversation at a time (a lease in the store); a crash between the two
/// writes leaves both the summary and the messages it summarizes, never a gap.
/// </para>
/// </remarks>
public sealed class StateKitChatHistoryProvider : ChatHistoryProvider
{
    private const int PageSize = 64;
    private static readonly JsonSerializerOptions BagOptions = ReadOnly(new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() });
    private static readonly TimeSpan CompactionLease = TimeSpan.FromMinutes(5);
    private readonly IStateStore _store;
    private readonly StateKitAgentOptions _options;
    private readonly StateValueCodec _codec;

    /// <summary>Initializes a new instance of the <see cref="StateKitChatHistoryProvider"/> class.</summary>
    /// <param name="store">The store conversations are kept in.</param>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    /// <param name="envelope">The envelope settings (compression); StateKit's defaults when <see langword="null"/>.</param>
    public StateKitChatHistoryProvider(IStateStore store, StateKitAgentOptions? options = null, StateEnvelopeOptions? envelope = null)
        : base(null, null, null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _options = options ?? new StateKitAgentOptions();
        _codec = AgentCodec.Create(envelope);
    }

    /// <summary>Gets the session's conversation, starting a new one in <see cref="StateKitAgentOptions.ConversationScope"/> on first use.</summary>
    /// <param name="session">The agent session.</param>
    /// <returns>The conversation.</returns>
    public ChatConversation GetConversation(AgentSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (session.StateBag.TryGetValue<ConversationState>(StateKeys[0], out var state, BagOptions) && state is not null)
        {
            return new ChatConversation(state.ToScope(), state.Id);
        }

        var conversation = ChatConversation.New(_options.ConversationScope);
        SetConversation(session, conversation);
        return conversation;
    }

    /// <summary>Binds the session to a conversation, for example one kept in a StateKit session's scope.</summary>
    /// <param name="session">The agent session.</param>
    /// <param name="conversation">The conversation.</param>
    public void SetConversation(AgentSession session, ChatConversation conversation)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(conversation);
        ArgumentException.ThrowIfNullOrWhiteSpace(conversation.Id, nameof(conversation));
        session.StateBag.SetValue(StateKeys[0], ConversationState.From(conversation), BagOptions);
    }

    /// <summary>Reads a conversation's history as the agent gets it: the newest messages within the configured count and budget, oldest first.</summary>
    /// <param name="conversation">The conversation.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The messages, oldest first.</returns>
    public async ValueTask<IReadOnlyList<ChatMessage>> GetMessagesAsync(ChatConversation conversation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        var key = AgentKeys.Conversation(conversation.Scope, conversation.Id);
        var maxMessages = _options.HistoryMaxMessages > 0 ? _options.HistoryMaxMessages : int.MaxValue;
        var budget = _options.HistoryBudget > 0 ? _options.HistoryBudget : int.MaxValue;
        var newestFirst = new List<ChatMessage>();
        long spent = 0;
        var reachedStart = false;
        var offset = 0;
        while (newestFirst.Count < maxMessages)
        {
            // Without a budget the window is one request (the whole list, or its last maxMessages); with one, pages of 64.
            var page = budget == int.MaxValue
                ? (maxMessages == int.MaxValue ? int.MaxValue : maxMessages - newestFirst.Count)
                : (int)Math.Min(PageSize, (long)maxMessages - newestFirst.Count);
            var items = page == int.MaxValue
                ? await _store.ListRangeAsync(key, 0, -1, cancellationToken).ConfigureAwait(false)
                : await _store.ListRangeAsync(key, -((long)offset + page), -(offset + 1), cancellationToken).ConfigureAwait(false);
            for (var i = items.Count - 1; i >= 0; i--)
            {
                var message = Decode<ChatMessage>(items[i].Span, key);
                spent += _options.MessageCost(message);
                if (spent > budget)
                {
                    return Oldest(newestFirst);
                }

                newestFirst.Add(message);
            }

            offset += items.Count;
            if (page == int.MaxValue || items.Count < page)
            {
                reachedStart = true;
                break;
            }
        }

        // A compacted conversation starts with the reducer's prefix (a summary): given with the full list only.
        if (reachedStart && await ReadPrefixAsync(conversation, cancellationToken).ConfigureAwait(false) is { Messages: { Count: > 0 } prefix })
        {
            var prefixCost = prefix.Sum(m => (long)_options.MessageCost(m));
            if (newestFirst.Count + prefix.Count <= maxMessages && spent + prefixCost <= budget)
            {
                return [.. prefix, .. Oldest(newestFirst)];
            }
        }

        return Oldest(newestFirst);
    }

    /// <summary>Appends messages to a conversation in one atomic append, then applies <see cref="StateKitAgentOptions.HistoryRetainMessages"/>.</summary>
    /// <param name="conversation">The conversation.</param>
    /// <param name="messages">The messages, oldest first.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The conversation's length in the store after the append.</returns>
    public async ValueTask<long> AddMessagesAsync(ChatConversation conversation, IEnumerable<ChatMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        ArgumentNullException.ThrowIfNull(messages);
        var key = AgentKeys.Conversation(conversation.Scope, conversation.Id);
        var items = messages.Select(m => (ReadOnlyMemory<byte>)_codec.Encode(m ?? throw new ArgumentException("A message is null.", nameof(messages)))).ToList();
        if (items.Count == 0)
        {
            return await _store.ListLengthAsync(key, cancellationToken).ConfigureAwait(false);
        }

        // Retry-safe: a run's messages are never stored twice after a failure whose outcome the store could not tell.
        var length = await _store.ListAppendOnceAsync(key, items, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (length == items.Count)
        {
            // A new list: named in its scope's index, so that clearing the scope (a session ending) removes it.
            await ScopeKeys.AddToIndexAsync(_store, conversation.Scope, AgentKeys.ConversationIndexEntry(conversation.Id), cancellationToken).ConfigureAwait(false);
        }

        if (_options.HistoryRetainMessages > 0 && length > _options.HistoryRetainMessages)
        {
            // Negative indices keep the newest messages even when another instance appended meanwhile.
            length = await _store.ListTrimAsync(key, -_options.HistoryRetainMessages, -1, cancellationToken).ConfigureAwait(false);
        }

        return length;
    }

    /// <summary>Gets how many messages a conversation holds in its list (a compacted prefix not counted).</summary>
    /// <param name="conversation">The conversation.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The count.</returns>
    public ValueTask<long> CountAsync(ChatConversation conversation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        return _store.ListLengthAsync(AgentKeys.Conversation(conversation.Scope, conversation.Id), cancellationToken);
    }

    /// <summary>Deletes a conversation (its messages and any compacted prefix).</summary>
    /// <param name="conversation">The conversation.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>Whether it existed.</returns>
    public async ValueTask<bool> DeleteAsync(ChatConversation conversation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        var list = await _store.ListDeleteAsync(AgentKeys.Conversation(conversation.Scope, conversation.Id), cancellationToken).ConfigureAwait(false);
        var prefix = await _store.DeleteAsync(AgentKeys.ConversationPrefix(conversation.Scope, conversation.Id), cancellationToken: cancellationToken).ConfigureAwait(false);
        return list || prefix;
    }

    /// <inheritdoc />
    protected override async ValueTask<IEnumerable<ChatMessage>> ProvideChatHistoryAsync(InvokingContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var messages = await GetMessagesAsync(GetConversation(RequireSession(context.Session)), cancellationToken).ConfigureAwait(false);
        if (_options.ChatReducer is { } reducer && _options.ReducerTriggerEvent == InMemoryChatHistoryProviderOptions.ChatReducerTriggerEvent.BeforeMessagesRetrieval)
        {
            return await reducer.ReduceAsync(messages, cancellationToken).ConfigureAwait(false);
        }

        return messages;
    }

    /// <inheritdoc />
    protected override async ValueTask StoreChatHistoryAsync(InvokedContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var conversation = GetConversation(RequireSession(context.Session));
        await AddMessagesAsync(conversation, context.RequestMessages.Concat(context.ResponseMessages ?? []), cancellationToken).ConfigureAwait(false);
        if (_options.ChatReducer is { } reducer && _options.ReducerTriggerEvent == InMemoryChatHistoryProviderOptions.ChatReducerTriggerEvent.AfterMessageAdded)
        {
            await CompactAsync(conversation, reducer, cancellationToken).ConfigureAwait(false);
        }
    }

    private static JsonSerializerOptions ReadOnly(JsonSerializerOptions options)
    {
        options.MakeReadOnly();
        return options;
    }

    private static AgentSession RequireSession(AgentSession? session) =>
        session ?? throw new InvalidOperationException("StateKitChatHistoryProvider keeps history per agent session: run the agent with a session (agent.CreateSessionAsync()).");

    private static List<ChatMessage> Oldest(List<ChatMessage> newestFirst)
    {
        newestFirst.Reverse();
        return newestFirst;
    }

    private T Decode<T>(ReadOnlySpan<byte> bytes, string key) => _codec.Decode<T>(bytes, key) ?? throw new StateCorruptedException(_store.Name, "Get", key, "a stored chat message is empty", null);

    private async ValueTask<(List<ChatMessage> Messages, long Version)> ReadPrefixAsync(ChatConversation conversation, CancellationToken cancellationToken)
    {
        var key = AgentKeys.ConversationPrefix(conversation.Scope, conversation.Id);
        var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return entry is null ? ([], 0) : (Decode<List<ChatMessage>>(entry.Value.Span, key), entry.Version);
    }

    private async ValueTask CompactAsync(ChatConversation conversation, IChatReducer reducer, CancellationToken cancellationToken)
    {
        var listKey = AgentKeys.Conversation(conversation.Scope, conversation.Id);
        var leaseKey = AgentKeys.ConversationPrefix(conversation.Scope, conversation.Id) + "/lease";
        try
        {
            await _store.SetAsync(leaseKey, new byte[] { 1 }, new StateWriteOptions(0, CompactionLease), cancellationToken).ConfigureAwait(false);
        }
        catch (StateConflictException)
        {
            return; // another instance is compacting this conversation
        }

        try
        {
            var (prefix, prefixVersion) = await ReadPrefixAsync(conversation, cancellationToken).ConfigureAwait(false);
            var items = await _store.ListRangeAsync(listKey, 0, -1, cancellationToken).ConfigureAwait(false);
            var stored = items.Select(i => Decode<ChatMessage>(i.Span, listKey)).ToList();
            var reduced = (await reducer.ReduceAsync([.. prefix, .. stored], cancellationToken).ConfigureAwait(false)).ToList();

            // The messages the reducer kept as they are, at the end, stay in the list; what comes before them is the new prefix.
            var kept = 0;
            while (kept < stored.Count && kept < reduced.Count && ReferenceEquals(stored[^(kept + 1)], reduced[^(kept + 1)]))
            {
                kept++;
            }

            var newPrefix = reduced.Take(reduced.Count - kept).ToList();
            if (kept == stored.Count && newPrefix.Count == prefix.Count && newPrefix.SequenceEqual(prefix))
            {
                return; // nothing reduced
            }

            var prefixKey = AgentKeys.ConversationPrefix(conversation.Scope, conversation.Id);
            await _store.SetAsync(prefixKey, _codec.Encode(newPrefix), prefixVersion == 0 ? StateWriteOptions.IfNotExists : StateWriteOptions.IfVersion(prefixVersion), cancellationToken).ConfigureAwait(false);
            if (prefixVersion == 0)
            {
                await ScopeKeys.AddToIndexAsync(_store, conversation.Scope, AgentKeys.ConversationPrefixIndexEntry(conversation.Id), cancellationToken).ConfigureAwait(false);
            }

            if (stored.Count - kept > 0)
            {
                // Messages appended by others since the read are at the end and stay; only the summarized head goes.
                await _store.ListTrimAsync(listKey, stored.Count - kept, -1, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await _store.DeleteAsync(leaseKey, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>What the session's state bag holds: the conversation id and its scope.</summary>
    private sealed record ConversationState(string Id, StateTier Tier, string Owner)
    {
        public static ConversationState From(ChatConversation c) => new(c.Id, c.Scope.Tier, c.Scope.OwnerId);

        public StateScope ToScope() => Tier switch
        {
            StateTier.Global => StateScope.Global,
            StateTier.Local => StateScope.Local(Owner),
            StateTier.Shared => StateScope.Shared(Owner),
            StateTier.Session => StateScope.Session(Owner),
            StateTier.Persistent => StateScope.Persistent(Owner),
            _ => throw new InvalidOperationException($"Unknown state tier {Tier} in the agent session's conversation."),
        };
    }
}
