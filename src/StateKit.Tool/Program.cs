using Spectre.Console;

namespace StateKit.Tool;

/// <summary>The <c>statekit</c> entry point: Ctrl+C cancels the running command (a migration then finishes its catch-up and verifies); a second Ctrl+C ends the process.</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl+C stops the command gracefully (a migration catches up and compares); a second one ends the process.
            e.Cancel = !cancel.IsCancellationRequested;
            cancel.Cancel();
        };
        var errors = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await ToolApp.RunAsync(args, AnsiConsole.Console, errors, cancel.Token).ConfigureAwait(false);
    }
}
