using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using StateKit.Agents;

namespace StateKit.Benchmarks;

/// <summary>
/// The agent's history read (<see cref="StateKitChatHistoryProvider"/> with a window of 20): the last 20 messages of a
/// 100,000-message conversation vs of a 1,000-message one (the baseline) on the same store, so the ratio shows whether
/// the read depends on the conversation's length; and the store's own range read of the same 20 items (no decoding).
/// </summary>
[MemoryDiagnoser]
public class AgentHistoryBenchmarks
{
    private BenchmarkStore _target = null!;
    private StateKitChatHistoryProvider _history = null!;
    private ChatConversation _short = null!;
    private ChatConversation _long = null!;

    /// <summary>Gets or sets the store kind.</summary>
    [Params("memory", "file", "sqlite", "postgres", "redis")]
    public string Store { get; set; } = "memory";

    [GlobalSetup]
    public void SetUp()
    {
        _target = BenchmarkStore.Create(Store);
        _history = new StateKitChatHistoryProvider(_target.Store, new StateKitAgentOptions { HistoryMaxMessages = 20 });
        _short = ChatConversation.New(StateScope.Global);
        _long = ChatConversation.New(StateScope.Global);
        Fill(_short, 1_000);
        Fill(_long, 100_000);
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _target.Store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _target.RemoveData().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public ValueTask<IReadOnlyList<AIChatMessage>> Last20_Of1k() => _history.GetMessagesAsync(_short);

    [Benchmark]
    public ValueTask<IReadOnlyList<AIChatMessage>> Last20_Of100k() => _history.GetMessagesAsync(_long);

    [Benchmark]
    public ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> StoreRange_Last20_Of100k() =>
        _target.Store.ListRangeAsync(StateKit.Agents.Internal.AgentKeys.Conversation(_long.Scope, _long.Id), -20, -1);

    private void Fill(ChatConversation conversation, int count)
    {
        for (var start = 0; start < count; start += 1_000)
        {
            var batch = Enumerable.Range(start, 1_000).Select(i => i % 2 == 0
                ? new AIChatMessage(ChatRole.User, $"Question {i}: what should the agent look at next in this long conversation?")
                : new AIChatMessage(ChatRole.Assistant, $"Answer {i}: it should look at the newest messages first and keep the rest in the store."));
            _history.AddMessagesAsync(conversation, batch).AsTask().GetAwaiter().GetResult();
        }

        if (_history.CountAsync(conversation).AsTask().GetAwaiter().GetResult() != count)
        {
            throw new InvalidOperationException($"the {Store} conversation does not hold {count} messages");
        }
    }
}
