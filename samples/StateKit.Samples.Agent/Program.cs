// StateKit agent sample: a chat agent (Microsoft Agent Framework) whose conversation and session survive restarts,
// and a two-step workflow that resumes after a crash. No model or network: a scripted local chat client answers.
//
//   dotnet run --project samples/StateKit.Samples.Agent -- chat                      talk (an empty line ends)
//   dotnet run --project samples/StateKit.Samples.Agent -- chat "What is the weather?"   one turn
//   dotnet run --project samples/StateKit.Samples.Agent -- workflow --crash-after-step1  the process dies after step one
//   dotnet run --project samples/StateKit.Samples.Agent -- workflow                       resumes at step two
//
// State is kept in ./agent-data (the file store). Any store by a switch, for example
//   -- chat --StateKit:Store:Type=sqlite --StateKit:Store:ConnectionString=agent.db
using System.Diagnostics;
using Microsoft.Agents.AI;
using Microsoft.Agents.AI.Workflows;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StateKit.Agents;
using StateKit.Samples.Agent;

var command = args.FirstOrDefault() ?? "chat";
var builder = Host.CreateApplicationBuilder(args.Where(a => a.StartsWith("--StateKit", StringComparison.Ordinal)).ToArray());
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["StateKit:Store:Type"] = builder.Configuration["StateKit:Store:Type"] ?? "file",
    ["StateKit:Store:Path"] = builder.Configuration["StateKit:Store:Path"] ?? Path.Combine(Environment.CurrentDirectory, "agent-data"),
});
builder.Services.AddStateKit(builder.Configuration.GetSection("StateKit"))
       .AddAgents(o => o.HistoryMaxMessages = 40);   // the agent sees the newest 40 messages
using var host = builder.Build();
await host.StartAsync();
var services = host.Services;

if (command == "chat")
{
    // The agent: a scripted chat client with one tool; its history lives in StateKit.
    var weather = AIFunctionFactory.Create((string city) => $"sunny and 21 °C in {city}", "get_weather", "Gets the weather in a city.");
    var history = services.GetRequiredService<StateKitChatHistoryProvider>();
    var agent = new ChatClientAgent(new ScriptedChatClient(), new ChatClientAgentOptions
    {
        Id = "sample-helper", // stable: the saved session is kept per agent id, and found again by the next process
        Name = "helper",
        ChatHistoryProvider = history,
        ChatOptions = new ChatOptions { Tools = [weather] },
    });

    // The session is saved under the user's key after every turn, so the next run continues it.
    var sessions = services.GetRequiredService<AgentSessionStore>();
    var key = new AgentSessionStoreKey("sample-user", new Dictionary<string, string>());
    var session = await sessions.GetOrCreateSessionAsync(agent, key);
    var conversation = history.GetConversation(session);
    Console.WriteLine($"Conversation {conversation.Id}: {await history.CountAsync(conversation)} stored messages.");

    var said = args.Skip(1).Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
    IEnumerable<string> lines = said.Count > 0 ? said : ReadLines();
    foreach (var line in lines)
    {
        var answer = await agent.RunAsync(line, session);
        await sessions.SaveSessionAsync(agent, key, session);
        Console.WriteLine($"agent: {answer.Text}");
    }
}
else if (command == "workflow")
{
    // Two steps; the framework checkpoints after each one into StateKit (CheckpointManager registered by AddAgents).
    var crash = args.Contains("--crash-after-step1");
    var draft = ((Func<string, string>)(topic =>
    {
        Console.WriteLine($"step 1: drafting a reply about '{topic}'");
        return $"draft about {topic}";
    })).BindAsExecutor("draft");
    var review = ((Func<string, string>)(text =>
    {
        if (crash)
        {
            Console.WriteLine("step 2: the process dies now (step one's checkpoint is stored)");
            Process.GetCurrentProcess().Kill(); // SIGKILL: no cleanup at all
        }

        Console.WriteLine($"step 2: reviewing '{text}'");
        return $"reviewed {text}";
    })).BindAsExecutor("review");
    var workflow = new WorkflowBuilder(draft).AddEdge(draft, review).WithOutputFrom(review).Build();

    // Run-or-resume: a new run starts, a run that died part way resumes from its latest checkpoint, and a run that has
    // finished is not run again (Agent Framework's resume of a finished run would wait for ever).
    var manager = services.GetRequiredService<CheckpointManager>();
    var runs = services.GetRequiredService<StateKitWorkflowRuns>();
    const string runId = "sample-run";
    var latest = await manager.GetLatestCheckpointAsync(runId);
    await using var run = await runs.RunOrResumeAsync(workflow, "the weather", manager, runId);
    if (run is null)
    {
        Console.WriteLine("The workflow had already finished (delete agent-data to start over).");
    }
    else
    {
        Console.WriteLine(latest is null ? "Workflow started." : $"Workflow resumed from checkpoint {latest.CheckpointId}.");
        foreach (var output in run.OutgoingEvents.OfType<WorkflowOutputEvent>())
        {
            Console.WriteLine($"Workflow output: {output.Data}");
        }
    }
}
else
{
    Console.Error.WriteLine("usage: chat [message ...] | workflow [--crash-after-step1]");
    return 2;
}

await host.StopAsync();
return 0;

static IEnumerable<string> ReadLines()
{
    Console.WriteLine("Talk to the agent (an empty line ends):");
    while (Console.ReadLine() is { Length: > 0 } line)
    {
        yield return line;
    }
}
