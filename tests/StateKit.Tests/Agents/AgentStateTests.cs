using System.Text.Json;
using Microsoft.Agents.AI;
using Microsoft.Agents.AI.Workflows;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.AgentChild;
using StateKit.Agents;

namespace StateKit.Tests.Agents;

/// <summary>StateKit.Agents on every store: chat history, agent sessions, workflow checkpoints.</summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class AgentStateTests(string kind) : StoreFixture(kind)
{
    private readonly string _kind = kind;
    private readonly List<Func<Task>> _teardown = [];

    [TearDown]
    public async Task DisposeTwinsAsync()
    {
        foreach (var dispose in _teardown)
        {
            await dispose();
        }

        _teardown.Clear();
    }

    [Test]
    public async Task ChatHistory_EveryContentKind_RoundTrips()
    {
        var history = new StateKitChatHistoryProvider(Store);
        var conversation = ChatConversation.New(StateScope.Global);
        var usage = new UsageDetails { InputTokenCount = 12, OutputTokenCount = 34, TotalTokenCount = 46 };
        ChatMessage[] messages =
        [
            new(ChatRole.System, "You are terse."),
            new(ChatRole.User, [new TextContent("Weather in Oslo?"), new DataContent(new byte[] { 1, 2, 3, 255 }, "image/png"), new UriContent(new Uri("https://example.com/a.png"), "image/png")]),
            new(ChatRole.Assistant, [new TextReasoningContent("Need the tool."), new FunctionCallContent("c1", "get_weather", new Dictionary<string, object?> { ["city"] = "Oslo", ["days"] = 2 })]),
            new(ChatRole.Tool, [new FunctionResultContent("c1", "sunny, 21 °C")]),
            new(ChatRole.Assistant, [new TextContent("Sunny."), new UsageContent(usage)]) { AuthorName = "bot", MessageId = "m5" },
        ];

        await history.AddMessagesAsync(conversation, messages);
        var read = await history.GetMessagesAsync(conversation);

        Assert.That(read, Has.Count.EqualTo(messages.Length));
        for (var i = 0; i < messages.Length; i++)
        {
            Assert.That(Json(read[i]), Is.EqualTo(Json(messages[i])), $"message {i} round-trips exactly");
        }

        Assert.That(read[1].Contents.Select(c => c.GetType()), Is.EqualTo(new[] { typeof(TextContent), typeof(DataContent), typeof(UriContent) }));
        Assert.That(((DataContent)read[1].Contents[1]).Data.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3, 255 }));
        var call = (FunctionCallContent)read[2].Contents[1];
        Assert.That((call.CallId, call.Name, call.Arguments!["city"]!.ToString()), Is.EqualTo(("c1", "get_weather", "Oslo")));
        Assert.That(((FunctionResultContent)read[3].Contents[0]).Result!.ToString(), Is.EqualTo("sunny, 21 °C"));
        Assert.That(((UsageContent)read[4].Contents[1]).Details.TotalTokenCount, Is.EqualTo(46));
        Assert.That((read[4].AuthorName, read[4].MessageId), Is.EqualTo(("bot", "m5")));
    }

    [Test]
    public async Task ChatHistory_TwoInstancesWritingOneConversation_KeepEveryMessageExactlyOnceInOrder()
    {
        var (first, second) = Twins();
        var conversation = ChatConversation.New(StateScope.Shared("team"));
        var writers = new[] { ("A", new StateKitChatHistoryProvider(first)), ("B", new StateKitChatHistoryProvider(second)) };
        await Task.WhenAll(writers.Select(w => Task.Run(async () =>
        {
            for (var turn = 0; turn < 40; turn++)
            {
                await w.Item2.AddMessagesAsync(conversation, [new ChatMessage(ChatRole.User, $"{w.Item1}-{turn}"), new ChatMessage(ChatRole.Assistant, $"{w.Item1}-{turn}-reply")]);
            }
        })));

        var texts = (await writers[0].Item2.GetMessagesAsync(conversation)).Select(m => m.Text).ToList();
        Assert.That(texts, Has.Count.EqualTo(160));
        Assert.That(texts, Is.Unique, "no message twice");
        foreach (var writer in new[] { "A", "B" })
        {
            var own = texts.Where(t => t.StartsWith(writer + "-", StringComparison.Ordinal) && !t.EndsWith("-reply", StringComparison.Ordinal)).ToList();
            Assert.That(own, Is.EqualTo(Enumerable.Range(0, 40).Select(i => $"{writer}-{i}")), $"{writer}'s turns in order");
        }

        for (var i = 0; i < texts.Count; i += 2)
        {
            Assert.That(texts[i + 1], Is.EqualTo(texts[i] + "-reply"), "a run's request and response stay together");
        }
    }

    [Test]
    public async Task ChatHistory_WindowBudgetAndRetention()
    {
        var conversation = ChatConversation.New(StateScope.Global);
        var writer = new StateKitChatHistoryProvider(Store, new StateKitAgentOptions { HistoryRetainMessages = 150 });
        for (var batch = 0; batch < 10; batch++)
        {
            await writer.AddMessagesAsync(conversation, Enumerable.Range(batch * 20, 20).Select(i => new ChatMessage(ChatRole.User, $"m{i:D5}")));
        }

        Assert.That(await writer.CountAsync(conversation), Is.EqualTo(150), "retention keeps the newest 150");
        var all = await writer.GetMessagesAsync(conversation);
        Assert.That((all[0].Text, all[^1].Text), Is.EqualTo(("m00050", "m00199")));

        var window = await new StateKitChatHistoryProvider(Store, new StateKitAgentOptions { HistoryMaxMessages = 20 }).GetMessagesAsync(conversation);
        Assert.That(window.Select(m => m.Text), Is.EqualTo(Enumerable.Range(180, 20).Select(i => $"m{i:D5}")));

        // Each message costs 7 (six characters + 1): a budget of 50 fits the newest 7, never part of one.
        var budgeted = await new StateKitChatHistoryProvider(Store, new StateKitAgentOptions { HistoryBudget = 50 }).GetMessagesAsync(conversation);
        Assert.That(budgeted.Select(m => m.Text), Is.EqualTo(Enumerable.Range(193, 7).Select(i => $"m{i:D5}")));

        // A budget that spans more than one page of the backwards read (pages of 64): 100 messages, in order, none twice.
        var wide = await new StateKitChatHistoryProvider(Store, new StateKitAgentOptions { HistoryBudget = 700 }).GetMessagesAsync(conversation);
        Assert.That(wide.Select(m => m.Text), Is.EqualTo(Enumerable.Range(100, 100).Select(i => $"m{i:D5}")));
    }

    [Test]
    public async Task ChatHistory_ReducerAfterMessagesAdded_KeepsASummaryPrefixAndTrimsWhatItSummarized()
    {
        var conversation = ChatConversation.New(StateScope.Global);
        var options = new StateKitAgentOptions { ChatReducer = new SummarizeAllButLast(2), ReducerTriggerEvent = InMemoryChatHistoryProviderOptions.ChatReducerTriggerEvent.AfterMessageAdded };
        var history = new StateKitChatHistoryProvider(Store, options);
        var agent = new ChatClientAgent(new ScriptedChatClient(), new ChatClientAgentOptions { ChatHistoryProvider = history });
        var session = await agent.CreateSessionAsync();
        history.SetConversation(session, conversation);

        await agent.RunAsync("one", session);
        await agent.RunAsync("two", session);

        Assert.That(await history.CountAsync(conversation), Is.EqualTo(2), "the summarized messages left the list");
        var read = await history.GetMessagesAsync(conversation);
        Assert.That(read[0].Text, Does.StartWith("summary of"), "the summary comes first");
        Assert.That(read.Skip(1).Select(m => m.Text), Is.EqualTo(new[] { "two", read[^1].Text }));
        Assert.That(read[^1].Text, Does.Contain("you said: two"));
    }

    [Test]
    public async Task ChatHistory_ReducerBeforeRetrieval_ShapesWhatTheAgentSeesAndKeepsEveryStoredMessage()
    {
        var conversation = ChatConversation.New(StateScope.Global);
        var client = new ScriptedChatClient();
        var history = new StateKitChatHistoryProvider(Store, new StateKitAgentOptions { ChatReducer = new SummarizeAllButLast(1) });
        var agent = new ChatClientAgent(client, new ChatClientAgentOptions { ChatHistoryProvider = history });
        var session = await agent.CreateSessionAsync();
        history.SetConversation(session, conversation);

        await agent.RunAsync("one", session);
        await agent.RunAsync("two", session);

        var seen = client.Requests[1];
        Assert.That(seen, Has.Count.EqualTo(3), "the summary, the last stored message, the new request");
        Assert.That(seen[0].Text, Is.EqualTo("summary of one"), "the agent saw the reduced history");
        Assert.That((seen[1].Text, seen[2].Text), Is.EqualTo(("I have seen 1 messages; you said: one", "two")));
        Assert.That(await history.CountAsync(conversation), Is.EqualTo(4), "the store keeps every message");
    }

    [Test]
    public async Task Conversation_InAStateKitSessionsScope_EndsWithTheSession()
    {
        var provider = Container(b => b.AddSessions<ChatTurns>().AddAgents());
        var sessions = provider.GetRequiredService<ISessionManager<ChatTurns>>();
        var history = provider.GetRequiredService<StateKitChatHistoryProvider>();
        var session = await sessions.CreateAsync();
        var conversation = new ChatConversation(session.Scope, "chat");
        await history.AddMessagesAsync(conversation, [new ChatMessage(ChatRole.User, "hi"), new ChatMessage(ChatRole.Assistant, "hello")]);
        Assert.That(await history.CountAsync(conversation), Is.EqualTo(2));

        Assert.That(await sessions.DeleteAsync(session.Id), Is.True);
        Assert.That(await history.CountAsync(conversation), Is.EqualTo(0), "the conversation went with the session");
    }

    [Test]
    public async Task AgentRun_HistoryWithToolCalls_IsStored_AndAnotherInstanceContinuesTheConversation()
    {
        var (first, second) = Twins();
        var weather = AIFunctionFactory.Create((string city) => $"sunny in {city}", "get_weather");
        var client = new ScriptedChatClient();
        var history = new StateKitChatHistoryProvider(first);
        var agent = new ChatClientAgent(client, new ChatClientAgentOptions { Id = "weather-agent", ChatHistoryProvider = history, ChatOptions = new ChatOptions { Tools = [weather] } });
        var session = await agent.CreateSessionAsync();

        var answer = await agent.RunAsync("What is the weather?", session);
        Assert.That(answer.Text, Is.EqualTo("The weather is sunny in Oslo."));
        var sessionStore = new StateKitAgentSessionStore(first);
        await sessionStore.SaveSessionAsync(agent, new AgentSessionStoreKey("user-1", new Dictionary<string, string>()), session);

        // Another instance: its own store object, agent and provider; the session comes back from the session store.
        var client2 = new ScriptedChatClient();
        var history2 = new StateKitChatHistoryProvider(second);
        var agent2 = new ChatClientAgent(client2, new ChatClientAgentOptions { Id = "weather-agent", ChatHistoryProvider = history2, ChatOptions = new ChatOptions { Tools = [weather] } });
        var restored = await new StateKitAgentSessionStore(second).GetSessionAsync(agent2, new AgentSessionStoreKey("user-1", new Dictionary<string, string>()));
        Assert.That(restored, Is.Not.Null);
        var next = await agent2.RunAsync("Thanks!", restored!);

        var seen = client2.Requests.Single();
        Assert.That(seen.Select(m => m.Role.Value), Is.EqualTo(new[] { "user", "assistant", "tool", "assistant", "user" }), "the whole earlier run, tool call and result included");
        Assert.That(seen[1].Contents.OfType<FunctionCallContent>().Single().Name, Is.EqualTo("get_weather"));
        Assert.That(seen[2].Contents.OfType<FunctionResultContent>().Single().Result!.ToString(), Is.EqualTo("sunny in Oslo"));
        Assert.That(next.Text, Is.EqualTo("I have seen 5 messages; you said: Thanks!"));
        Assert.That(await history2.CountAsync(history2.GetConversation(restored!)), Is.EqualTo(6));
    }

    [Test]
    public async Task SessionStore_SaveGetDelete_PartitionsIsolate_AndAConcurrentSaveConflicts()
    {
        var agent = new ChatClientAgent(new ScriptedChatClient(), new ChatClientAgentOptions { ChatHistoryProvider = new StateKitChatHistoryProvider(Store) });
        var store = new StateKitAgentSessionStore(Store);
        var key = new AgentSessionStoreKey("s/1 ..", new Dictionary<string, string> { ["tenant"] = "a" });
        var otherTenant = key.WithPartition("tenant", "b");

        Assert.That(await store.GetSessionAsync(agent, key), Is.Null);
        var created = await store.GetOrCreateSessionAsync(agent, key);
        await agent.RunAsync("hello", created);
        await store.SaveSessionAsync(agent, key, created);
        Assert.That(await store.GetSessionAsync(agent, otherTenant), Is.Null, "partitions are part of the identity");

        // Two instances read the session; the first to save wins, the second is told instead of overwriting.
        var one = (await store.GetSessionAsync(agent, key))!;
        var two = (await new StateKitAgentSessionStore(Store).GetSessionAsync(agent, key))!;
        await store.SaveSessionAsync(agent, key, one);
        await Assert.ThrowsAsync<StateConflictException>(async () => await store.SaveSessionAsync(agent, key, two));
        await Assert.ThrowsAsync<StateConflictException>(async () => await store.SaveSessionAsync(agent, key, await agent.CreateSessionAsync()), "a session never read does not replace a stored one");
        await new StateKitAgentSessionStore(Store, new StateKitAgentOptions { SessionConflict = AgentSessionConflict.Overwrite }).SaveSessionAsync(agent, key, two);

        await store.DeleteSessionAsync(agent, key);
        Assert.That(await store.GetSessionAsync(agent, key), Is.Null);
    }

    [Test]
    public async Task SessionStore_SameKeyDifferentAgentIds_AreIsolated_AndTheSharedLayoutIsKeptOnRequest()
    {
        // Issue 23, item 8: as Agent Framework's GetSessionAsync_SameNameDifferentAgentIds_AreIsolatedAsync.
        var first = new ChatClientAgent(new ScriptedChatClient(), new ChatClientAgentOptions { Id = "agent-1", Name = "helper", ChatHistoryProvider = new StateKitChatHistoryProvider(Store) });
        var second = new ChatClientAgent(new ScriptedChatClient(), new ChatClientAgentOptions { Id = "agent-2", Name = "helper", ChatHistoryProvider = new StateKitChatHistoryProvider(Store) });
        var key = new AgentSessionStoreKey("user-1", new Dictionary<string, string>());
        var sessions = new StateKitAgentSessionStore(Store);
        await sessions.SaveSessionAsync(first, key, await first.CreateSessionAsync());
        Assert.That(await sessions.GetSessionAsync(first, key), Is.Not.Null);
        Assert.That(await sessions.GetSessionAsync(second, key), Is.Null, "another agent's session is not served");
        await sessions.SaveSessionAsync(second, key, await second.CreateSessionAsync());
        await sessions.DeleteSessionAsync(second, key);
        Assert.That(await sessions.GetSessionAsync(first, key), Is.Not.Null, "deleting one agent's session leaves the other's");

        // The layout of 0.1 (shared by agents), for apps that must find the sessions it saved.
        var shared = new StateKitAgentSessionStore(Store, new StateKitAgentOptions { SessionsPerAgent = false });
        await shared.SaveSessionAsync(first, key.WithPartition("layout", "0.1"), await first.CreateSessionAsync());
        Assert.That(await shared.GetSessionAsync(second, key.WithPartition("layout", "0.1")), Is.Not.Null);
        var keys = new List<string>();
        await foreach (var k in Store.ListKeysAsync("agents/"))
        {
            keys.Add(k);
        }

        Assert.That(keys.Count(k => k.StartsWith("agents/sessions/~user-1/~layout=", StringComparison.Ordinal)), Is.EqualTo(1), "the 0.1 key: " + string.Join(", ", keys));
        Assert.That(keys.Count(k => k.StartsWith("agents/agent-sessions/~agent-1/~user-1", StringComparison.Ordinal)), Is.EqualTo(1), "the per-agent key: " + string.Join(", ", keys));
    }

    [Test]
    public async Task WorkflowRuns_AFinishedRunIsNotRunAgain_InsteadOfResumingForEver()
    {
        // Issue 23, item 19: resuming a finished run from its last checkpoint never returns in Agent Framework.
        var steps = 0;
        var draft = ((Func<string, string>)(topic =>
        {
            Interlocked.Increment(ref steps);
            return "draft about " + topic;
        })).BindAsExecutor("draft");
        var review = ((Func<string, string>)(text => "reviewed " + text)).BindAsExecutor("review");
        var workflow = new WorkflowBuilder(draft).AddEdge(draft, review).WithOutputFrom(review).Build();
        var manager = CheckpointManager.CreateJson(new StateKitCheckpointStore(Store));
        var runs = new StateKitWorkflowRuns(Store);

        await using (var first = await runs.RunOrResumeAsync(workflow, "rain", manager, "run-7").AsTask().WaitAsync(TimeSpan.FromMinutes(1)))
        {
            Assert.That(first!.OutgoingEvents.OfType<WorkflowOutputEvent>().Single().Data, Is.EqualTo("reviewed draft about rain"));
        }

        Assert.That(await runs.IsCompletedAsync("run-7"), Is.True);
        var again = await runs.RunOrResumeAsync(workflow, "rain", manager, "run-7").AsTask().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.That(again, Is.Null, "finished: not run again, and no wait");
        Assert.That(steps, Is.EqualTo(1));

        Assert.That(await runs.ClearCompletedAsync("run-7"), Is.True);
        Assert.That(await runs.IsCompletedAsync("run-7"), Is.False);
    }

    [Test]
    public async Task Identifiers_AnyTextIsEscapedIntoKeys_AndATooLongOneIsRefusedClearly()
    {
        var agent = new ChatClientAgent(new ScriptedChatClient(), new ChatClientAgentOptions { ChatHistoryProvider = new StateKitChatHistoryProvider(Store) });
        var sessions = new StateKitAgentSessionStore(Store);
        var odd = new AgentSessionStoreKey("../a\\b/c\u0001 é", new Dictionary<string, string> { ["x/y"] = ".." });
        await sessions.SaveSessionAsync(agent, odd, await agent.CreateSessionAsync());
        Assert.That(await sessions.GetSessionAsync(agent, odd), Is.Not.Null, "slashes, backslashes, dots and control characters are escaped");
        Assert.That(await sessions.GetSessionAsync(agent, new AgentSessionStoreKey("../a\\b/c\u0001 é", new Dictionary<string, string>())), Is.Null);

        var checkpoints = new StateKitCheckpointStore(Store);
        var created = await checkpoints.CreateCheckpointAsync("run/../1", JsonSerializer.SerializeToElement(1));
        Assert.That(await checkpoints.RetrieveIndexAsync("run/../1"), Is.EqualTo(new[] { created }));

        var tooLong = new AgentSessionStoreKey(new string('s', 5_000), new Dictionary<string, string>());
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await sessions.SaveSessionAsync(agent, tooLong, await agent.CreateSessionAsync()));
    }

    [Test]
    public async Task Checkpoints_IndexInOrderWithParents_RetentionRemovesTheOldest()
    {
        var store = new StateKitCheckpointStore(Store, new StateKitAgentOptions { MaxCheckpointsPerSession = 3 });
        var created = new List<CheckpointInfo>();
        CheckpointInfo? parent = null;
        for (var i = 0; i < 4; i++)
        {
            parent = await store.CreateCheckpointAsync("run-1", JsonSerializer.SerializeToElement(new { step = i }), parent);
            created.Add(parent);
        }

        var index = (await store.RetrieveIndexAsync("run-1")).ToList();
        Assert.That(index, Is.EqualTo(created.Skip(1)), "the newest three, oldest first");
        Assert.That((await store.RetrieveIndexAsync("run-1", created[1])).Single(), Is.EqualTo(created[2]));
        Assert.That((await store.RetrieveCheckpointAsync("run-1", created[3])).GetProperty("step").GetInt32(), Is.EqualTo(3));
        await Assert.ThrowsAsync<StateNotFoundException>(async () => await store.RetrieveCheckpointAsync("run-1", created[0]), "the pruned checkpoint's value is gone");
        Assert.That(await store.RetrieveIndexAsync("other"), Is.Empty);
        Assert.That((await CheckpointManager.CreateJson(store).GetLatestCheckpointAsync("run-1"))?.CheckpointId, Is.EqualTo(created[3].CheckpointId));
    }

    [Test]
    public async Task AddAgents_RegistersEverything_FromStateKitAgentsOptions()
    {
        var provider = Container(b => b.AddAgents(o => o.HistoryMaxMessages = 5));
        Assert.That(provider.GetRequiredService<AgentSessionStore>(), Is.InstanceOf<StateKitAgentSessionStore>());
        Assert.That(provider.GetRequiredService<Microsoft.Agents.AI.Workflows.Checkpointing.ICheckpointStore<JsonElement>>(), Is.SameAs(provider.GetRequiredService<StateKitCheckpointStore>()));
        Assert.That(provider.GetRequiredService<CheckpointManager>(), Is.Not.Null);
        var history = provider.GetRequiredService<StateKitChatHistoryProvider>();
        var conversation = ChatConversation.New(StateScope.Global);
        await history.AddMessagesAsync(conversation, Enumerable.Range(0, 9).Select(i => new ChatMessage(ChatRole.User, i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        Assert.That((await history.GetMessagesAsync(conversation)).Select(m => m.Text), Is.EqualTo(new[] { "4", "5", "6", "7", "8" }));
    }

    [Test]
    public void AddAgents_BindsStateKitAgentsFromConfiguration_AndValidatesIt()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Agents:HistoryMaxMessages"] = "3",
            ["StateKit:Agents:SessionConflict"] = "Overwrite",
        }).Build();
        var provider = Container(b => b.AddAgents().Services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(configuration));
        var options = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<StateKitAgentOptions>>().Value;
        Assert.That((options.HistoryMaxMessages, options.SessionConflict), Is.EqualTo((3, AgentSessionConflict.Overwrite)));

        var invalid = Container(b => b.AddAgents(o => o.HistoryMaxMessages = -1));
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => invalid.GetRequiredService<StateKitChatHistoryProvider>());
        Assert.That(ex!.Message, Does.Contain("HistoryMaxMessages"));
    }

    /// <summary>Two store instances on this fixture's backend (as two app instances), disposed after the test.</summary>
    private (IStateStore First, IStateStore Second) Twins()
    {
        var twins = TestStores.CreateTwins(_kind, Time, out var cleanup);
        _teardown.Add(async () =>
        {
            await twins.First.DisposeAsync();
            await twins.Second.DisposeAsync();
            await cleanup();
        });
        return twins;
    }

    private static string Json(ChatMessage message) => JsonSerializer.Serialize(message, AIJsonUtilities.DefaultOptions);

    /// <summary>A StateKit session's state in these tests.</summary>
    /// <param name="Turns">The turns.</param>
    public sealed record ChatTurns(int Turns = 0);

    /// <summary>Replaces all but the last <c>keep</c> messages by one summary message.</summary>
    private sealed class SummarizeAllButLast(int keep) : IChatReducer
    {
        public Task<IEnumerable<ChatMessage>> ReduceAsync(IEnumerable<ChatMessage> messages, CancellationToken cancellationToken)
        {
            var list = messages.ToList();
            if (list.Count <= keep)
            {
                return Task.FromResult<IEnumerable<ChatMessage>>(list);
            }

            var summary = new ChatMessage(ChatRole.System, "summary of " + string.Join(" | ", list.Take(list.Count - keep).Select(m => m.Text)));
            return Task.FromResult<IEnumerable<ChatMessage>>([summary, .. list.TakeLast(keep)]);
        }
    }
}
