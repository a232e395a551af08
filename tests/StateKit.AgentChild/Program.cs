using Microsoft.Agents.AI;
using Microsoft.Agents.AI.Workflows;
using Microsoft.Extensions.AI;
using StateKit;
using StateKit.AgentChild;
using StateKit.Agents;
using StateKit.File;
using StateKit.Sqlite;

// Usage (<target> is a file-store root directory, or sqlite:<database file>):
//   agent <target> <user> <message>     one agent turn in user <user>'s saved session; prints the answer and the history size
//   workflow <target> <run> [hang]      runs (or resumes) the two-step workflow <run>; with "hang" step two waits forever
//                                       after printing "step2-started", so the test can SIGKILL the process between steps
await using IStateStore store = args[1].StartsWith("sqlite:", StringComparison.Ordinal)
    ? new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = args[1]["sqlite:".Length..] })
    : new FileStateStore(new FileStateStoreOptions { RootPath = args[1] });

if (args[0] == "agent")
{
    var history = new StateKitChatHistoryProvider(store);
    var weather = AIFunctionFactory.Create((string city) => $"sunny in {city}", "get_weather");
    var agent = new ChatClientAgent(new ScriptedChatClient(), new ChatClientAgentOptions { Id = "child-agent", ChatHistoryProvider = history, ChatOptions = new ChatOptions { Tools = [weather] } });
    var sessions = new StateKitAgentSessionStore(store);
    var key = new AgentSessionStoreKey(args[2], new Dictionary<string, string>());
    var session = await sessions.GetOrCreateSessionAsync(agent, key);
    var answer = await agent.RunAsync(args[3], session);
    await sessions.SaveSessionAsync(agent, key, session);
    Console.WriteLine($"answer: {answer.Text}");
    Console.WriteLine($"history: {await history.CountAsync(history.GetConversation(session))}");
    return 0;
}

if (args[0] == "workflow")
{
    var hang = args.Length > 3 && args[3] == "hang";
    var step1 = ((Func<string, string>)(input =>
    {
        Console.WriteLine("step1-ran");
        return $"draft({input})";
    })).BindAsExecutor("step1");
    var step2 = ((Func<string, string>)(draft =>
    {
        Console.WriteLine("step2-started");
        if (hang)
        {
            Thread.Sleep(Timeout.Infinite); // killed here, after step one's checkpoint
        }

        return $"final({draft})";
    })).BindAsExecutor("step2");
    var workflow = new WorkflowBuilder(step1).AddEdge(step1, step2).WithOutputFrom(step2).Build();
    var manager = CheckpointManager.CreateJson(new StateKitCheckpointStore(store));

    var latest = await manager.GetLatestCheckpointAsync(args[2]);
    await using var run = latest is null
        ? await InProcessExecution.RunAsync(workflow, "hello", manager, args[2])
        : await InProcessExecution.ResumeAsync(workflow, latest, manager);
    Console.WriteLine(latest is null ? "started" : "resumed");
    foreach (var output in run.OutgoingEvents.OfType<WorkflowOutputEvent>())
    {
        Console.WriteLine($"output: {output.Data}");
    }

    return 0;
}

Console.Error.WriteLine("usage: agent <target> <user> <message> | workflow <target> <run> [hang]");
return 2;
