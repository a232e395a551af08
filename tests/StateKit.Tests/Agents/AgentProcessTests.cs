using System.Diagnostics;
using NUnit.Framework;
using StateKit.Tests.File;

namespace StateKit.Tests.Agents;

/// <summary>
/// Agent state across processes (tests/StateKit.AgentChild): a conversation continued by a new process, and a workflow
/// killed with SIGKILL between its two steps that resumes at step two in a new process.
/// </summary>
[TestFixture("file")]
[TestFixture("sqlite")]
public sealed class AgentProcessTests(string kind)
{
    private string _root = null!;

    private string Target => kind == "sqlite" ? "sqlite:" + Path.Combine(_root, "agents.db") : _root;

    [SetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("statekit-agents-").FullName;

    [TearDown]
    public void RemoveRoot()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task Conversation_WithAToolCall_ContinuesInANewProcess()
    {
        var first = await RunAsync("agent", Target, "user-1", "What is the weather?");
        Assert.That(first, Does.Contain("answer: The weather is sunny in Oslo.").And.Contain("history: 4"), "user, tool call, tool result, answer");

        var second = await RunAsync("agent", Target, "user-1", "Thanks!");
        Assert.That(second, Does.Contain("answer: I have seen 5 messages; you said: Thanks!"), "the new process sent the whole earlier conversation, tool call included");
        Assert.That(second, Does.Contain("history: 6"));

        var other = await RunAsync("agent", Target, "user-2", "Hello");
        Assert.That(other, Does.Contain("I have seen 1 messages"), "another user's session starts empty");
    }

    [Test]
    public async Task Workflow_KilledBetweenSteps_ResumesAtStepTwoInANewProcess()
    {
        using (var child = ChildProcess.StartApp("StateKit.AgentChild", ["workflow", Target, "run-1", "hang"]))
        {
            string? line;
            var seen = new List<string>();
            while ((line = await child.StandardOutput.ReadLineAsync()) is not null && line != "step2-started")
            {
                seen.Add(line);
            }
            Assert.That(line, Is.EqualTo("step2-started"), string.Join("\n", seen)); // not stderr: reading it to the end would wait for the exit
            child.Kill(); // SIGKILL: no finally block, no flush
            await child.WaitForExitAsync();
            Assert.That(seen, Does.Contain("step1-ran"));
        }

        var resumed = await RunAsync("workflow", Target, "run-1");
        Assert.That(resumed, Does.Contain("resumed"));
        Assert.That(resumed, Does.Not.Contain("step1-ran"), "step one is not run again");
        Assert.That(resumed, Does.Contain("step2-started").And.Contain("output: final(draft(hello))"));
    }

    private static async Task<string> RunAsync(params string[] args)
    {
        using var child = ChildProcess.StartApp("StateKit.AgentChild", args);
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await child.WaitForExitAsync(timeout.Token);
        var text = await output + await error;
        Assert.That(child.ExitCode, Is.EqualTo(0), text);
        return text;
    }
}
