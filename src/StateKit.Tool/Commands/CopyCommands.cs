using System.Collections.Concurrent;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

using StateKit.Internal;

namespace StateKit.Tool.Commands;

/// <summary>The options of <c>copy</c> and <c>migrate</c>.</summary>
internal class CopySettings : CommandSettings
{
    /// <summary>Gets or sets the source store.</summary>
    [CommandOption("--from <STORE>")]
    [Description("The source: TYPE:CONNECTION or appsettings.json[[#name]].")]
    public string? From { get; set; }

    /// <summary>Gets or sets the target store.</summary>
    [CommandOption("--to <STORE>")]
    [Description("The target: TYPE:CONNECTION or appsettings.json[[#name]].")]
    public string? To { get; set; }

    /// <summary>Gets or sets the configuration section.</summary>
    [CommandOption("--section <SECTION>")]
    [Description("The configuration section StateKit is bound from (both stores).")]
    [DefaultValue("StateKit")]
    public string Section { get; set; } = "StateKit";

    /// <summary>Gets or sets the source's key prefix.</summary>
    [CommandOption("--from-key-prefix <PREFIX>")]
    [Description("The source's key prefix (StateKit:KeyPrefix), when not the configured one.")]
    public string? FromKeyPrefix { get; set; }

    /// <summary>Gets or sets the target's key prefix.</summary>
    [CommandOption("--to-key-prefix <PREFIX>")]
    [Description("The target's key prefix, when not the configured one.")]
    public string? ToKeyPrefix { get; set; }

    /// <summary>Gets or sets the key prefix copied.</summary>
    [CommandOption("--prefix <PREFIX>")]
    [Description("Only keys that start with this.")]
    public string Prefix { get; set; } = string.Empty;

    /// <summary>Gets or sets a value indicating whether the copy is not compared afterwards.</summary>
    [CommandOption("--no-verify")]
    [Description("Skip the comparison of both stores at the end.")]
    public bool NoVerify { get; set; }

    /// <summary>Gets or sets a value indicating whether results are JSON.</summary>
    [CommandOption("--json")]
    [Description("Write the report as JSON.")]
    public bool Json { get; set; }

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        From is null || To is null ? ValidationResult.Error("--from and --to are both required.") : ValidationResult.Success();
}

/// <summary>The options of <c>migrate</c>.</summary>
internal sealed class MigrateSettings : CopySettings
{
    /// <summary>Gets or sets how long to follow the source.</summary>
    [CommandOption("--for <DURATION>")]
    [Description("Follow the source's changes this long (for example 30s, 10m); without it, until Ctrl+C.")]
    public string? For { get; set; }
}

/// <summary><c>copy</c>: a full copy, the changes made meanwhile, then the comparison.</summary>
internal sealed class CopyCommand(ToolConsole console) : AsyncCommand<CopySettings>
{
    /// <inheritdoc />
    public override Task<int> ExecuteAsync(CommandContext context, CopySettings settings, CancellationToken cancellationToken) =>
        StoreCopier.RunAsync(console, settings, follow: null, cancellationToken);
}

/// <summary><c>migrate</c>: <c>copy</c> that keeps following the source until stopped, then catches up and compares.</summary>
internal sealed class MigrateCommand(ToolConsole console) : AsyncCommand<MigrateSettings>
{
    /// <inheritdoc />
    public override Task<int> ExecuteAsync(CommandContext context, MigrateSettings settings, CancellationToken cancellationToken) =>
        StoreCopier.RunAsync(console, settings, settings.For is null ? Timeout.InfiniteTimeSpan : Duration(settings.For), cancellationToken);

    private static TimeSpan Duration(string text)
    {
        var unit = text.Length > 0 ? text[^1] : ' ';
        var number = char.IsDigit(unit) ? text : text[..^1];
        if (!double.TryParse(number, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            throw new ToolException(ExitCodes.Usage, $"--for '{text}' is not a duration (for example 90s, 10m, 1h).");
        }

        return unit switch
        {
            'h' => TimeSpan.FromHours(value),
            'm' => TimeSpan.FromMinutes(value),
            _ => TimeSpan.FromSeconds(value),
        };
    }
}

/// <summary>
/// Copies a store into another online: subscribes to the source's change feed first, copies everything, then copies
/// again every key the feed named (until stopped, for a migration), and compares both stores at the end.
/// </summary>
internal static class StoreCopier
{
    /// <summary>Runs a copy; <paramref name="follow"/> is how long to keep following (null: only catch up once).</summary>
    public static async Task<int> RunAsync(ToolConsole console, CopySettings settings, TimeSpan? follow, CancellationToken cancellationToken)
    {
        await using var source = await StoreOpener.OpenAsync(settings.From!, settings.Section, settings.FromKeyPrefix, cancellationToken).ConfigureAwait(false);
        await using var target = await StoreOpener.OpenAsync(settings.To!, settings.Section, settings.ToKeyPrefix, cancellationToken).ConfigureAwait(false);
        var transfer = new StateTransfer(target.Store, authoritative: true);
        var changedEntries = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var changedLists = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var resync = 0;
        var feed = source.Store.GetService<IStateChangeFeed>();
        if (feed is null && follow is not null)
        {
            throw new ToolException(ExitCodes.Store, $"the source '{source.Description}' has no change feed, so a migration cannot follow it: stop the writers and use copy.");
        }

        if (feed is null)
        {
            console.Note($"note: the source '{source.Description}' has no change feed; writes made during the copy may be missed: stop the writers first.");
        }

        await using var subscription = feed is null ? null : await feed.SubscribeAsync(settings.Prefix, (change, _) =>
        {
            switch (change.Kind)
            {
                case StateStoreChangeKind.Resync:
                    Interlocked.Exchange(ref resync, 1);
                    break;
                case StateStoreChangeKind.ListAppend or StateStoreChangeKind.ListChange:
                    changedLists[change.Key] = true;
                    break;
                default:
                    changedEntries[change.Key] = true;
                    break;
            }

            return ValueTask.CompletedTask;
        }, cancellationToken).ConfigureAwait(false);

        var started = System.Diagnostics.Stopwatch.StartNew();
        await console.ProgressAsync($"copy {source.Description} to {target.Description}", progress => FullPassAsync(source.Store, transfer, settings.Prefix, progress, cancellationToken)).ConfigureAwait(false);
        var rounds = 0;
        var stopAt = follow is { } span && span != Timeout.InfiniteTimeSpan ? DateTimeOffset.UtcNow + span : (DateTimeOffset?)null;
        if (follow is not null)
        {
            console.Note("following the source's changes: switch the app over to the target, then stop with Ctrl+C" + (stopAt is null ? "." : $" (or wait until {ToolConsole.Plain(stopAt)})."));
            while (!cancellationToken.IsCancellationRequested && (stopAt is null || DateTimeOffset.UtcNow < stopAt))
            {
                await CatchUpAsync(source.Store, transfer, settings.Prefix, changedEntries, changedLists, () => Interlocked.Exchange(ref resync, 0) == 1, CancellationToken.None).ConfigureAwait(false);
                rounds++;
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        // The last catch-up is not cancelled: what the feed named before the stop is copied before the comparison.
        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(300), CancellationToken.None).ConfigureAwait(false);
            await CatchUpAsync(source.Store, transfer, settings.Prefix, changedEntries, changedLists, () => Interlocked.Exchange(ref resync, 0) == 1, CancellationToken.None).ConfigureAwait(false);
        }

        var copied = started.Elapsed;
        var comparison = settings.NoVerify ? null : await StoreComparison.RunAsync(source.Store, target.Store, settings.Prefix, CancellationToken.None).ConfigureAwait(false);
        console.Object(settings.Json,
        [
            ("source", source.Description), ("target", target.Description), .. transfer.Report.Describe(), ("catchUpRounds", rounds),
            ("copySeconds", Math.Round(copied.TotalSeconds, 3)), .. comparison?.Describe() ?? [], ("verified", comparison is null ? "skipped" : comparison.Same ? "same" : "different"),
        ]);
        return comparison is { Same: false } || !transfer.Report.Conflicts.IsEmpty ? ExitCodes.Damaged : ExitCodes.Ok;
    }

    private static async Task FullPassAsync(IStateStore source, StateTransfer transfer, string prefix, IProgress<(long Done, long? Total)> progress, CancellationToken cancellationToken)
    {
        var inventory = await StoreInventory.ReadAsync(source, prefix, cancellationToken).ConfigureAwait(false);
        long total = inventory.Entries.Count + inventory.Lists.Count, done = 0;
        foreach (var batch in inventory.Entries.Chunk(StateTransfer.BatchSize))
        {
            await CopyEntriesAsync(source, transfer, batch, cancellationToken).ConfigureAwait(false);
            progress.Report((done += batch.Length, total));
        }

        foreach (var list in inventory.Lists)
        {
            await CopyListAsync(source, transfer, list.Key, list.ExpiresAt, known: true, cancellationToken).ConfigureAwait(false);
            progress.Report((++done, total));
        }
    }

    private static async Task CatchUpAsync(IStateStore source, StateTransfer transfer, string prefix, ConcurrentDictionary<string, bool> entries, ConcurrentDictionary<string, bool> lists, Func<bool> resync, CancellationToken cancellationToken)
    {
        if (resync())
        {
            // The feed lost track (a reconnect): everything is compared again.
            await FullPassAsync(source, transfer, prefix, new Progress<(long, long?)>(), cancellationToken).ConfigureAwait(false);
        }

        foreach (var batch in Take(entries).Chunk(StateTransfer.BatchSize))
        {
            await CopyEntriesAsync(source, transfer, batch, cancellationToken).ConfigureAwait(false);
        }

        foreach (var key in Take(lists))
        {
            await CopyListAsync(source, transfer, key, null, known: false, cancellationToken).ConfigureAwait(false);
        }
    }

    private static List<string> Take(ConcurrentDictionary<string, bool> changed)
    {
        var keys = new List<string>();
        foreach (var key in changed.Keys)
        {
            if (changed.TryRemove(key, out _))
            {
                keys.Add(key);
            }
        }

        return keys;
    }

    /// <summary>Copies a batch of keys as the source holds them now: present ones at their versions, missing ones deleted at the target.</summary>
    private static async Task CopyEntriesAsync(IStateStore source, StateTransfer transfer, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var found = await source.ReadAllAsync(keys, cancellationToken).ConfigureAwait(false);
        await transfer.WriteEntriesAsync(keys.Where(found.ContainsKey).Select(k => new ExportedEntry(k, found[k].Version, found[k].ExpiresAt, found[k].Value.ToArray())).ToList(), cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(keys.Where(k => !found.ContainsKey(k)).Select(k => transfer.DeleteEntryAsync(k, cancellationToken))).ConfigureAwait(false);
    }

    private static async Task CopyListAsync(IStateStore source, StateTransfer transfer, string key, DateTimeOffset? expiresAt, bool known, CancellationToken cancellationToken)
    {
        if (!known)
        {
            // A list the feed named: its expiry comes from the catalog (the only place that tells it).
            await foreach (var list in source.GetRequiredService<IStateListCatalog>().ListListsAsync(key, cancellationToken).ConfigureAwait(false))
            {
                if (list.Key == key)
                {
                    expiresAt = list.ExpiresAt;
                }
            }
        }

        var items = await source.ListRangeAsync(key, 0, -1, cancellationToken).ConfigureAwait(false);
        await transfer.WriteListAsync(key, items, expiresAt, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary><c>verify</c>: every entry and list read and checked; with <c>--against</c>, two stores compared.</summary>
internal sealed class VerifyCommand(ToolConsole console) : AsyncCommand<VerifyCommand.Settings>
{
    /// <summary>The options of <c>verify</c>.</summary>
    internal sealed class Settings : StoreSettings
    {
        /// <summary>Gets or sets the key prefix.</summary>
        [CommandOption("--prefix <PREFIX>")]
        [Description("Only keys that start with this.")]
        public string Prefix { get; set; } = string.Empty;

        /// <summary>Gets or sets a store to compare with.</summary>
        [CommandOption("--against <STORE>")]
        [Description("Compare with this store too: counts and a checksum per scope, and every difference.")]
        public string? Against { get; set; }

        /// <summary>Gets or sets the other store's key prefix.</summary>
        [CommandOption("--against-key-prefix <PREFIX>")]
        [Description("The other store's key prefix, when not the same as --key-prefix.")]
        public string? AgainstKeyPrefix { get; set; }
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (settings.Against is not null)
        {
            await using var other = await StoreOpener.OpenAsync(settings.Against, settings.Section, settings.AgainstKeyPrefix ?? settings.KeyPrefix, cancellationToken).ConfigureAwait(false);
            var comparison = await StoreComparison.RunAsync(opened.Store, other.Store, settings.Prefix, cancellationToken).ConfigureAwait(false);
            console.Object(settings.Json, [.. comparison.Describe(), ("verified", comparison.Same ? "same" : "different")]);
            return comparison.Same ? ExitCodes.Ok : ExitCodes.Damaged;
        }

        var inventory = await StoreInventory.ReadAsync(opened.Store, settings.Prefix, cancellationToken).ConfigureAwait(false);
        var damaged = new List<(string Key, string Kind, string Problem)>();
        await console.ProgressAsync($"verify {opened.Description}", async progress =>
        {
            long done = 0, total = inventory.Entries.Count + inventory.Lists.Count;
            foreach (var batch in inventory.Entries.Chunk(StoreReads.Window))
            {
                damaged.AddRange(await CheckEntriesAsync(opened.Store, batch, cancellationToken).ConfigureAwait(false));
                progress.Report((done += batch.Length, total));
            }

            foreach (var list in inventory.Lists)
            {
                try
                {
                    var items = await opened.Store.ListRangeAsync(list.Key, 0, -1, cancellationToken).ConfigureAwait(false);
                    for (var i = 0; i < items.Count; i++)
                    {
                        if (EnvelopeProblem(items[i].Span) is { } problem)
                        {
                            damaged.Add((list.Key, "list", $"item {i}: {problem}"));
                        }
                    }
                }
                catch (StateCorruptedException ex)
                {
                    damaged.Add((list.Key, "list", ex.Message));
                }

                progress.Report((++done, total));
            }
        }).ConfigureAwait(false);

        console.Rows(settings.Json, ["key", "kind", "problem"], damaged.Select(d => (IReadOnlyList<object?>)[d.Key, d.Kind, d.Problem]));
        console.Note($"checked {inventory.Entries.Count} entries and {inventory.Lists.Count} lists: {damaged.Count} damaged");
        return damaged.Count == 0 ? ExitCodes.Ok : ExitCodes.Damaged;
    }

    /// <summary>Reads a batch in one call; when the store finds damage in it, reads its keys one by one to name each damaged one.</summary>
    private static async Task<List<(string Key, string Kind, string Problem)>> CheckEntriesAsync(IStateStore store, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var damaged = new List<(string, string, string)>();
        IReadOnlyDictionary<string, StateEntry> found;
        try
        {
            found = await store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
        }
        catch (StateCorruptedException)
        {
            var one = new Dictionary<string, StateEntry>(StringComparer.Ordinal);
            foreach (var key in keys)
            {
                try
                {
                    if (await store.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } entry)
                    {
                        one[key] = entry;
                    }
                }
                catch (StateCorruptedException ex)
                {
                    damaged.Add((key, "entry", ex.Message));
                }
            }

            found = one;
        }

        foreach (var (key, entry) in found)
        {
            if (EnvelopeProblem(entry.Value.Span) is { } problem)
            {
                damaged.Add((key, "entry", problem));
            }
        }

        return damaged;
    }

    /// <summary>A StateKit envelope (marker 0xA7) whose checksum does not match; other bytes are not StateKit's to judge.</summary>
    private static string? EnvelopeProblem(ReadOnlySpan<byte> value)
    {
        if (value.Length < StateKit.Serialization.StateValueCodec.HeaderSize || value[0] != 0xA7)
        {
            return null;
        }

        var stored = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(value[4..]);
        return stored == StateKit.Serialization.Crc32C.Compute(value[..4], value[8..]) ? null : "the envelope's checksum does not match its bytes";
    }
}
