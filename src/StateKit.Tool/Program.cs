using Spectre.Console;

namespace StateKit.Tool;

/// <summary>The <c>statekit</c> entry point: Ctrl+C cancels the running command (a migration then finishes its catch-up and verifies).</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        var errors = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await ToolApp.RunAsync(args, AnsiConsole.Console, errors, cancel.Token).ConfigureAwait(false);
    }
}
