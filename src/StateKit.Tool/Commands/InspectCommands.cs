using System.ComponentModel;
using System.Text.Json;
using Spectre.Console.Cli;
using StateKit.Internal;

namespace StateKit.Tool.Commands;

/// <summary><c>ls [PREFIX]</c>: entries and lists under a prefix, sorted, a page at a time; or scopes with their counts.</summary>
internal sealed class LsCommand(ToolConsole console) : AsyncCommand<LsCommand.Settings>
{
    /// <summary>The options of <c>ls</c>.</summary>
    internal sealed class Settings : StoreSettings
    {
        /// <summary>Gets or sets the key prefix.</summary>
        [CommandArgument(0, "[PREFIX]")]
        [Description("List keys that start with this (for example session/ or sessions/).")]
        public string Prefix { get; set; } = string.Empty;

        /// <summary>Gets or sets the page size.</summary>
        [CommandOption("--limit <N>")]
        [Description("At most this many rows (0: all).")]
        [DefaultValue(100)]
        public int Limit { get; set; } = 100;

        /// <summary>Gets or sets where the page starts.</summary>
        [CommandOption("--after <KEY>")]
        [Description("Start after this key (the last key of the previous page).")]
        public string? After { get; set; }

        /// <summary>Gets or sets a value indicating whether scopes are listed instead of keys.</summary>
        [CommandOption("--scopes")]
        [Description("List scopes (sessions, agents, workspaces…) with how many entries and lists each holds.")]
        public bool Scopes { get; set; }
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        var inventory = await StoreInventory.ReadAsync(opened.Store, settings.Prefix, cancellationToken).ConfigureAwait(false);
        if (settings.Scopes)
        {
            var scopes = inventory.Scopes().Select(s => (IReadOnlyList<object?>)[s.Scope, s.Entries, s.Lists]);
            console.Rows(settings.Json, ["scope", "entries", "lists"], Page(scopes, r => (string)r[0]!, settings));
            return ExitCodes.Ok;
        }

        var rows = inventory.Entries.Select(k => (Key: k, List: (StateListInfo?)null))
            .Concat(inventory.Lists.Select(l => (l.Key, List: (StateListInfo?)l)))
            .OrderBy(r => r.Key, StringComparer.Ordinal)
            .ThenBy(r => r.List is null ? 0 : 1)
            .Select(r => (IReadOnlyList<object?>)[r.List is null ? "entry" : "list", r.Key, null, r.List?.ExpiresAt]);
        var page = Page(rows, r => (string)r[1]!, settings).ToList();
        var entries = await opened.Store.ReadAllAsync(page.Where(r => (string)r[0]! == "entry").Select(r => (string)r[1]!).ToList(), cancellationToken).ConfigureAwait(false);
        var lengths = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var row in page.Where(r => (string)r[0]! == "list"))
        {
            lengths[(string)row[1]!] = await opened.Store.ListLengthAsync((string)row[1]!, cancellationToken).ConfigureAwait(false);
        }

        console.Rows(settings.Json, ["kind", "key", "version", "expires", "items"], page.Select(r => (string)r[0]! == "entry"
            ? (IReadOnlyList<object?>)["entry", r[1], entries.GetValueOrDefault((string)r[1]!)?.Version, entries.GetValueOrDefault((string)r[1]!)?.ExpiresAt, null]
            : ["list", r[1], null, r[3], lengths[(string)r[1]!]]));
        return ExitCodes.Ok;
    }

    private IEnumerable<IReadOnlyList<object?>> Page(IEnumerable<IReadOnlyList<object?>> rows, Func<IReadOnlyList<object?>, string> keyOf, Settings settings)
    {
        var after = settings.After is null ? rows : rows.Where(r => string.CompareOrdinal(keyOf(r), settings.After) > 0);
        var list = settings.Limit > 0 ? after.Take(settings.Limit + 1).ToList() : after.ToList();
        if (settings.Limit > 0 && list.Count > settings.Limit)
        {
            list.RemoveAt(list.Count - 1);
            console.Note($"more: statekit ls --after \"{keyOf(list[^1])}\"");
        }

        return list;
    }
}

/// <summary><c>get KEY</c>: an entry (or with <c>--list</c> a list, with <c>--scope</c> a scope's value) decoded as JSON.</summary>
internal sealed class GetCommand(ToolConsole console) : AsyncCommand<GetCommand.Settings>
{
    /// <summary>The options of <c>get</c>.</summary>
    internal sealed class Settings : ScopeSettings
    {
        /// <summary>Gets or sets the key.</summary>
        [CommandArgument(0, "<KEY>")]
        [Description("The store key, or with --scope the key inside the scope.")]
        public string Key { get; set; } = string.Empty;

        /// <summary>Gets or sets a value indicating whether the key is a list.</summary>
        [CommandOption("--list")]
        [Description("Show the list stored under the key (or the scope's list).")]
        public bool List { get; set; }
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        var key = settings.Scope is null ? settings.Key : ScopeKeys.Value(settings.ParsedScope(), settings.Key);
        if (settings.List)
        {
            var listKey = settings.Scope is null ? settings.Key : ScopeKeys.List(settings.ParsedScope(), settings.Key);
            var items = await opened.Store.ListRangeAsync(listKey, 0, -1, cancellationToken).ConfigureAwait(false);
            if (items.Count == 0)
            {
                throw new ToolException(ExitCodes.NotFound, $"no list '{listKey}'.");
            }

            console.Rows(settings.Json, ["index", "item"], items.Select((item, i) => (IReadOnlyList<object?>)[i, settings.Json ? StoredValueText.Json(item, listKey) : StoredValueText.Describe(item, listKey).Text.ReplaceLineEndings(" ")]));
            return ExitCodes.Ok;
        }

        var entry = await opened.Store.GetAsync(key, cancellationToken).ConfigureAwait(false) ?? throw new ToolException(ExitCodes.NotFound, $"no entry '{key}'.");
        var (text, encoding) = StoredValueText.Describe(entry.Value, key);
        console.Object(settings.Json, [("key", key), ("version", entry.Version), ("expires", entry.ExpiresAt), ("encoding", encoding), ("value", settings.Json ? StoredValueText.Json(entry.Value, key) : Environment.NewLine + text)]);
        return ExitCodes.Ok;
    }
}

/// <summary><c>history --scope S KEY</c>: the versions the scope keeps of a key.</summary>
internal sealed class HistoryCommand(ToolConsole console) : AsyncCommand<HistoryCommand.Settings>
{
    /// <summary>The options of <c>history</c>.</summary>
    internal sealed class Settings : ScopeSettings
    {
        /// <summary>Gets or sets the key.</summary>
        [CommandArgument(0, "<KEY>")]
        [Description("The key inside the scope.")]
        public string Key { get; set; } = string.Empty;

        /// <summary>Gets or sets a value indicating whether each version's value is shown.</summary>
        [CommandOption("--values")]
        [Description("Show each kept version's value too.")]
        public bool Values { get; set; }
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        var scope = settings.ParsedScope();
        var history = await opened.Provider.GetHistoryAsync(scope, settings.Key, cancellationToken).ConfigureAwait(false);
        var current = await opened.Provider.GetAsync<JsonElement>(scope, settings.Key, cancellationToken).ConfigureAwait(false);
        if (history.Count == 0 && current is null)
        {
            throw new ToolException(ExitCodes.NotFound, $"no key '{settings.Key}' and no history of it in {scope}.");
        }

        var rows = new List<IReadOnlyList<object?>>();
        foreach (var version in history)
        {
            object? value = null;
            if (settings.Values)
            {
                var old = await opened.Provider.GetVersionAsync<JsonElement>(scope, settings.Key, version.Version, cancellationToken).ConfigureAwait(false);
                value = old is null ? null : settings.Json ? old.Value : old.Value.GetRawText();
            }

            rows.Add([version.Version, version.WrittenAt, version.Version == current?.Version ? "current" : "kept", value]);
        }

        if (current is not null && !history.Any(h => h.Version == current.Version))
        {
            rows.Add([current.Version, null, "current", settings.Values ? (settings.Json ? current.Value : current.Value.GetRawText()) : null]);
        }

        console.Rows(settings.Json, ["version", "written", "state", "value"], rows);
        return ExitCodes.Ok;
    }
}

/// <summary><c>diff --scope S KEY FROM TO</c>: what changed between two versions.</summary>
internal sealed class DiffCommand(ToolConsole console) : AsyncCommand<DiffCommand.Settings>
{
    /// <summary>The options of <c>diff</c>.</summary>
    internal sealed class Settings : ScopeSettings
    {
        /// <summary>Gets or sets the key.</summary>
        [CommandArgument(0, "<KEY>")]
        public string Key { get; set; } = string.Empty;

        /// <summary>Gets or sets the older version.</summary>
        [CommandArgument(1, "<FROM>")]
        [Description("The older version.")]
        public long From { get; set; }

        /// <summary>Gets or sets the newer version.</summary>
        [CommandArgument(2, "<TO>")]
        [Description("The newer version.")]
        public long To { get; set; }
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        var diff = await opened.Provider.DiffAsync(settings.ParsedScope(), settings.Key, settings.From, settings.To, cancellationToken).ConfigureAwait(false);
        console.Rows(settings.Json, ["path", "change", "old", "new"], diff.Select(d => (IReadOnlyList<object?>)[d.Path, d.Kind.ToString().ToLowerInvariant(), d.OldValue, d.NewValue]));
        return ExitCodes.Ok;
    }
}

/// <summary><c>checkpoints list --scope S</c>.</summary>
internal sealed class CheckpointListCommand(ToolConsole console) : AsyncCommand<ScopeSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, ScopeSettings settings, CancellationToken cancellationToken)
    {
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        var checkpoints = await opened.Provider.ListCheckpointsAsync(settings.ParsedScope(), cancellationToken).ConfigureAwait(false);
        console.Rows(settings.Json, ["id", "name", "created", "entries", "lists"], checkpoints.Select(c => (IReadOnlyList<object?>)[c.Id, c.Name, c.CreatedAt, c.EntryCount, c.ListCount]));
        return ExitCodes.Ok;
    }
}

/// <summary>Options of a command on one checkpoint.</summary>
internal class CheckpointSettings : ScopeSettings
{
    /// <summary>Gets or sets the checkpoint id.</summary>
    [CommandArgument(0, "[ID]")]
    [Description("The checkpoint id (from checkpoints list).")]
    public string? Id { get; set; }

    /// <summary>Gets or sets a value indicating whether the change is confirmed.</summary>
    [CommandOption("-y|--yes")]
    [Description("Confirm the change (asked for on a terminal otherwise; required when not on a terminal).")]
    public bool Yes { get; set; }

    /// <summary>Asks before a change, unless <c>--yes</c>.</summary>
    /// <param name="console">The console.</param>
    /// <param name="what">What will change.</param>
    public void Confirm(ToolConsole console, string what)
    {
        if (Yes)
        {
            return;
        }

        if (!console.Errors.Profile.Capabilities.Interactive)
        {
            throw new ToolException(ExitCodes.Usage, $"{what}: add --yes to confirm.");
        }

        if (!Spectre.Console.AnsiConsoleExtensions.Confirm(console.Errors, $"{what}?", defaultValue: false))
        {
            throw new ToolException(ExitCodes.Cancelled, "not confirmed; nothing changed.");
        }
    }
}

/// <summary><c>checkpoints restore --scope S ID</c>: all or nothing, through the provider (versions checked, audit sink called).</summary>
internal sealed class CheckpointRestoreCommand(ToolConsole console) : AsyncCommand<CheckpointSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, CheckpointSettings settings, CancellationToken cancellationToken)
    {
        var scope = settings.ParsedScope();
        var id = settings.Id ?? throw new ToolException(ExitCodes.Usage, "the checkpoint id is required.");
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        settings.Confirm(console, $"restore {scope} to checkpoint {id} (its current values are replaced)");
        await opened.Provider.RestoreCheckpointAsync(scope, id, cancellationToken).ConfigureAwait(false);
        console.Note($"restored {scope} to checkpoint {id}");
        return ExitCodes.Ok;
    }
}

/// <summary><c>checkpoints fork --scope S [ID] --to T</c>: the scope as the checkpoint holds it (or as it is now) into an empty scope.</summary>
internal sealed class CheckpointForkCommand(ToolConsole console) : AsyncCommand<CheckpointForkCommand.Settings>
{
    /// <summary>The options of <c>checkpoints fork</c>.</summary>
    internal sealed class Settings : CheckpointSettings
    {
        /// <summary>Gets or sets the target scope.</summary>
        [CommandOption("--to <SCOPE>")]
        [Description("The new, empty scope.")]
        public string? To { get; set; }

        /// <summary>Gets or sets the instant to fork as of (instead of a checkpoint).</summary>
        [CommandOption("--as-of <INSTANT>")]
        [Description("Fork the values as they were at this instant (ISO 8601, e.g. 2026-12-07T10:00:00Z), from their history, instead of a checkpoint.")]
        public DateTimeOffset? AsOf { get; set; }
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var source = settings.ParsedScope();
        var target = StateScope.Parse(settings.To ?? throw new ToolException(ExitCodes.Usage, "--to SCOPE is required."));
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (settings.AsOf is not null && settings.Id is not null)
        {
            throw new ToolException(ExitCodes.Usage, "give a checkpoint id or --as-of, not both.");
        }

        var (values, lists) = settings.AsOf is { } asOf
            ? await opened.Provider.ForkAsOfAsync(source, target, asOf, cancellationToken).ConfigureAwait(false)
            : await opened.Provider.ForkAsync(source, target, settings.Id, cancellationToken).ConfigureAwait(false);
        console.Object(settings.Json, [("source", source.ToString()), ("checkpoint", settings.Id), ("asOf", settings.AsOf), ("target", target.ToString()), ("values", values), ("lists", lists)]);
        return ExitCodes.Ok;
    }
}
