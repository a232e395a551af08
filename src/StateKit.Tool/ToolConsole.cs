using System.Text.Json;
using Spectre.Console;

namespace StateKit.Tool;

/// <summary>
/// Where the tool writes: on a terminal, tables and progress bars; redirected, plain tab-separated lines (or JSON with
/// <c>--json</c>), so scripts can read the output. Progress and errors go to the error stream.
/// </summary>
/// <param name="output">The result stream.</param>
/// <param name="errors">The error and progress stream.</param>
internal sealed class ToolConsole(IAnsiConsole output, IAnsiConsole errors)
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Gets the result stream; redirected, it never wraps lines (scripts read them whole).</summary>
    public IAnsiConsole Output { get; } = Unwrapped(output);

    /// <summary>Gets the error and progress stream.</summary>
    public IAnsiConsole Errors { get; } = Unwrapped(errors);

    /// <summary>Gets a value indicating whether the results go to a terminal (tables) rather than a pipe (plain lines).</summary>
    public bool IsTerminal => Output.Profile.Capabilities.Interactive;

    /// <summary>Writes rows: a table on a terminal, tab-separated lines when piped, one JSON object per row with <paramref name="json"/>.</summary>
    /// <param name="json">Whether to write JSON lines.</param>
    /// <param name="columns">The column names (also the JSON property names).</param>
    /// <param name="rows">The rows, one value per column.</param>
    public void Rows(bool json, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<object?>> rows)
    {
        if (json)
        {
            foreach (var row in rows)
            {
                var item = new Dictionary<string, object?>(columns.Count);
                for (var i = 0; i < columns.Count; i++)
                {
                    item[columns[i]] = row[i];
                }

                Line(JsonSerializer.Serialize(item, JsonOptions));
            }

            return;
        }

        if (!IsTerminal)
        {
            foreach (var row in rows)
            {
                Line(string.Join('\t', row.Select(Plain)));
            }

            return;
        }

        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(Markup.Escape(column)));
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(v => Markup.Escape(Plain(v))).ToArray());
        }

        Output.Write(table);
    }

    /// <summary>Writes one object: indented JSON on a terminal or with <paramref name="json"/>, else <c>name: value</c> lines.</summary>
    /// <param name="json">Whether to write JSON.</param>
    /// <param name="item">The object's members in order.</param>
    public void Object(bool json, IReadOnlyList<(string Name, object? Value)> item)
    {
        if (json)
        {
            Line(JsonSerializer.Serialize(item.ToDictionary(p => p.Name, p => p.Value), JsonOptions));
            return;
        }

        foreach (var (name, value) in item)
        {
            Line($"{name}: {Plain(value)}");
        }
    }

    /// <summary>Writes one line of results, unformatted.</summary>
    /// <param name="text">The text.</param>
    public void Line(string text) => Output.WriteLine(text, Style.Plain);

    /// <summary>Writes a note on the error stream (progress, summaries that are not the result).</summary>
    /// <param name="text">The text.</param>
    public void Note(string text) => Errors.WriteLine(text, Style.Plain);

    /// <summary>Runs <paramref name="work"/> with a progress bar on a terminal, or plainly when redirected.</summary>
    /// <param name="title">What is being done.</param>
    /// <param name="work">The work; it reports (done, total or null when unknown).</param>
    /// <returns>A task.</returns>
    public async Task ProgressAsync(string title, Func<IProgress<(long Done, long? Total)>, Task> work)
    {
        if (!Errors.Profile.Capabilities.Interactive)
        {
            await work(new Progress<(long, long?)>(_ => { })).ConfigureAwait(false);
            return;
        }

        await Errors.Progress().AutoClear(true).StartAsync(async context =>
        {
            var task = context.AddTask(Markup.Escape(title), maxValue: 1);
            task.IsIndeterminate = true;
            await work(new ImmediateProgress(p =>
            {
                if (p.Total is { } total and > 0)
                {
                    task.IsIndeterminate = false;
                    task.MaxValue = total;
                }

                task.Value = p.Done;
            })).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>A value as plain text: instants in ISO 8601 UTC, nothing as empty.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The text.</returns>
    public static string Plain(object? value) => value switch
    {
        null => string.Empty,
        string text => text,
        System.Collections.IEnumerable many => string.Join(", ", many.Cast<object?>().Select(Plain)),
        DateTimeOffset at => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private static IAnsiConsole Unwrapped(IAnsiConsole console)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            console.Profile.Width = 1_000_000;
        }

        return console;
    }

    private sealed class ImmediateProgress(Action<(long Done, long? Total)> report) : IProgress<(long Done, long? Total)>
    {
        public void Report((long Done, long? Total) value) => report(value);
    }
}
