using System.ComponentModel;
using Spectre.Console.Cli;

using StateKit.Internal;

namespace StateKit.Tool.Commands;

/// <summary><c>export FILE</c>: every entry and list under a prefix, with versions and expiries, into a checksummed file.</summary>
internal sealed class ExportCommand(ToolConsole console) : AsyncCommand<ExportCommand.Settings>
{
    /// <summary>The options of <c>export</c>.</summary>
    internal sealed class Settings : StoreSettings
    {
        /// <summary>Gets or sets the file.</summary>
        [CommandArgument(0, "<FILE>")]
        [Description("The export file to write.")]
        public string File { get; set; } = string.Empty;

        /// <summary>Gets or sets the key prefix.</summary>
        [CommandOption("--prefix <PREFIX>")]
        [Description("Only keys that start with this.")]
        public string Prefix { get; set; } = string.Empty;

        /// <summary>Gets or sets a value indicating whether an interrupted export is continued.</summary>
        [CommandOption("--resume")]
        [Description("Continue an export that did not finish (the file has no trailer) from its last whole line.")]
        public bool Resume { get; set; }

        /// <summary>Gets or sets a value indicating whether an existing file is replaced.</summary>
        [CommandOption("--force")]
        [Description("Replace the file if it exists.")]
        public bool Force { get; set; }
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(settings.File);
        var exists = System.IO.File.Exists(path);
        if (exists && !settings.Resume && !settings.Force)
        {
            throw new ToolException(ExitCodes.Usage, $"'{path}' exists: add --resume to continue it or --force to replace it.");
        }

        ExportScan? resumed = null;
        if (exists && settings.Resume)
        {
            resumed = await ExportFile.ScanAsync(path, complete: false, null, cancellationToken).ConfigureAwait(false);
            if (resumed.Totals is { } done)
            {
                console.Note($"'{path}' is already complete ({done.Entries} entries, {done.Lists} lists).");
                return ExitCodes.Ok;
            }
        }

        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        var inventory = await StoreInventory.ReadAsync(opened.Store, settings.Prefix, cancellationToken).ConfigureAwait(false);
        var started = System.Diagnostics.Stopwatch.StartNew();
        long entries = 0, lists = 0, items = 0, bytes = 0;
        IEnumerable<string> entryKeys = inventory.Entries;
        IEnumerable<StateListInfo> listInfos = inventory.Lists;
        long length = 0;
        if (resumed is not null)
        {
            if (resumed.LastListStart is { } list)
            {
                (length, entries, lists, items) = (list.Length, list.Entries, list.Lists, list.Items);
                entryKeys = [];
                listInfos = inventory.Lists.Where(l => string.CompareOrdinal(l.Key, list.Key) >= 0);
            }
            else
            {
                (length, entries) = (resumed.GoodLength, resumed.Entries);
                entryKeys = resumed.LastEntry is null ? inventory.Entries : inventory.Entries.Where(k => string.CompareOrdinal(k, resumed.LastEntry) > 0);
            }
        }

        await using var stream = new FileStream(path, resumed is null ? FileMode.Create : FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 1 << 16, useAsync: true);
        using var writer = new HashingWriter(stream);
        if (resumed is null)
        {
            await writer.WriteAsync(ExportFile.Header(opened.Description, settings.Prefix), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // The lines kept are hashed again as they stream by (the trailer's checksum covers the whole file).
            var buffer = new byte[1 << 16];
            stream.Position = 0;
            for (var left = length; left > 0;)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                writer.Seed(buffer.AsSpan(0, read));
                left -= read;
            }

            stream.SetLength(length);
            stream.Position = length;
            console.Note($"resuming after {entries} entries and {lists} lists");
        }

        var pendingKeys = entryKeys.ToList();
        var pendingLists = listInfos.ToList();
        await console.ProgressAsync($"export {opened.Description}", async progress =>
        {
            long total = pendingKeys.Count + pendingLists.Count, done = 0;
            for (var start = 0; start < pendingKeys.Count; start += StoreReads.Window)
            {
                var batch = pendingKeys.GetRange(start, Math.Min(StoreReads.Window, pendingKeys.Count - start));
                var found = await opened.Store.ReadAllAsync(batch, cancellationToken).ConfigureAwait(false);
                foreach (var key in batch)
                {
                    if (found.TryGetValue(key, out var entry))
                    {
                        var line = ExportFile.Entry(entry);
                        await writer.WriteAsync(line, cancellationToken).ConfigureAwait(false);
                        entries++;
                        bytes += entry.Value.Length;
                    }
                }

                progress.Report((done += batch.Count, total));
            }

            foreach (var list in pendingLists)
            {
                var offset = 0L;
                while (true)
                {
                    var chunk = await opened.Store.ListRangeAsync(list.Key, offset, offset + ExportFile.ItemsPerLine - 1, cancellationToken).ConfigureAwait(false);
                    if (chunk.Count == 0)
                    {
                        break;
                    }

                    await writer.WriteAsync(ExportFile.ListChunk(list.Key, list.ExpiresAt, offset, chunk), cancellationToken).ConfigureAwait(false);
                    bytes += chunk.Sum(i => (long)i.Length);
                    offset += chunk.Count;
                    if (chunk.Count < ExportFile.ItemsPerLine)
                    {
                        break;
                    }
                }

                if (offset > 0)
                {
                    lists++;
                    items += offset;
                }

                progress.Report((++done + pendingKeys.Count, total));
            }
        }).ConfigureAwait(false);

        await writer.FinishAsync(new ExportTotals(entries, lists, items), cancellationToken).ConfigureAwait(false);
        var seconds = Math.Max(started.Elapsed.TotalSeconds, 1e-6);
        console.Object(settings.Json, [("file", path), ("entries", entries), ("lists", lists), ("items", items), ("valueBytes", bytes), ("fileBytes", stream.Length), ("seconds", Math.Round(seconds, 3)), ("entriesPerSecond", Math.Round((entries + items) / seconds))]);
        return ExitCodes.Ok;
    }
}

/// <summary><c>import FILE</c>: the whole file is checked first, then written with its versions and expiries.</summary>
internal sealed class ImportCommand(ToolConsole console) : AsyncCommand<ImportCommand.Settings>
{
    /// <summary>The options of <c>import</c>.</summary>
    internal sealed class Settings : StoreSettings
    {
        /// <summary>Gets or sets the file.</summary>
        [CommandArgument(0, "<FILE>")]
        [Description("The export file to read.")]
        public string File { get; set; } = string.Empty;
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(settings.File);
        var scan = await ExportFile.ScanAsync(path, complete: true, null, cancellationToken).ConfigureAwait(false);
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        var writer = new StateTransfer(opened.Store);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var entries = new List<ExportedEntry>();
        var list = (Key: (string?)null, Expiry: (DateTimeOffset?)null, Items: new List<byte[]>());
        await console.ProgressAsync($"import into {opened.Description}", async progress =>
        {
            long done = 0, total = scan.Totals!.Entries + scan.Totals.Lists;
            async Task FlushListAsync()
            {
                if (list.Key is not null)
                {
                    await writer.WriteListAsync(list.Key, list.Items.Select(i => (ReadOnlyMemory<byte>)i).ToList(), list.Expiry, cancellationToken).ConfigureAwait(false);
                    progress.Report((++done, total));
                }

                list = (null, null, []);
            }

            await ExportFile.ScanAsync(path, complete: true, async record =>
            {
                if (record is ExportedEntry entry)
                {
                    entries.Add(entry);
                    if (entries.Count == StateTransfer.BatchSize)
                    {
                        await writer.WriteEntriesAsync(entries, cancellationToken).ConfigureAwait(false);
                        progress.Report((done += entries.Count, total));
                        entries.Clear();
                    }
                }
                else if (record is ExportedListChunk chunk)
                {
                    if (chunk.Offset == 0)
                    {
                        await FlushListAsync().ConfigureAwait(false);
                        list = (chunk.Key, chunk.ExpiresAt, []);
                    }

                    list.Items.AddRange(chunk.Items);
                }
            }, cancellationToken).ConfigureAwait(false);
            await writer.WriteEntriesAsync(entries, cancellationToken).ConfigureAwait(false);
            await FlushListAsync().ConfigureAwait(false);
        }).ConfigureAwait(false);

        var report = writer.Report;
        console.Object(settings.Json, [("file", path), .. report.Describe(), ("seconds", Math.Round(started.Elapsed.TotalSeconds, 3))]);
        return report.Conflicts.Count > 0 ? ExitCodes.Damaged : ExitCodes.Ok;
    }
}
