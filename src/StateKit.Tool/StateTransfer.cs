using System.Collections.Concurrent;

namespace StateKit.Tool;

/// <summary>What a transfer (import, copy, migration) did.</summary>
internal sealed class TransferReport
{
    private long _written, _unchanged, _expired, _deleted, _recreated, _listsWritten, _listsUnchanged, _listsReplaced, _listsDeleted;

    /// <summary>Gets the keys that could not be written, with why.</summary>
    public ConcurrentQueue<string> Conflicts { get; } = new();

    /// <summary>Gets the entries written (new, or at a newer version).</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Counts an outcome.</summary>
    public void Count(string what)
    {
        switch (what)
        {
            case "written": Interlocked.Increment(ref _written); break;
            case "unchanged": Interlocked.Increment(ref _unchanged); break;
            case "expired": Interlocked.Increment(ref _expired); break;
            case "deleted": Interlocked.Increment(ref _deleted); break;
            case "recreated": Interlocked.Increment(ref _recreated); break;
            case "listsWritten": Interlocked.Increment(ref _listsWritten); break;
            case "listsUnchanged": Interlocked.Increment(ref _listsUnchanged); break;
            case "listsReplaced": Interlocked.Increment(ref _listsReplaced); break;
            case "listsDeleted": Interlocked.Increment(ref _listsDeleted); break;
            default: throw new ArgumentOutOfRangeException(nameof(what), what, null);
        }
    }

    /// <summary>The report's members, for output.</summary>
    public IEnumerable<(string Name, object? Value)> Describe() =>
    [
        ("written", _written), ("unchanged", _unchanged), ("expiredSkipped", _expired), ("deleted", _deleted), ("recreated", _recreated),
        ("listsWritten", _listsWritten), ("listsUnchanged", _listsUnchanged), ("listsReplaced", _listsReplaced), ("listsDeleted", _listsDeleted),
        ("conflicts", Conflicts.Count), ("conflictKeys", Conflicts.Take(20).ToArray()),
    ];
}

/// <summary>
/// Writes entries and lists into a target with their versions and expiries, so running it again duplicates nothing: an
/// entry goes through the version-preserving write (the target keeps a version it already has), a list is appended to
/// only past what the target already holds of it.
/// </summary>
/// <param name="target">The target store.</param>
/// <param name="authoritative">
/// Whether what is written is the truth (copy, migration: a key deleted and re-created at the source, so at a lower
/// version, replaces the target's; a list trimmed at the source is rewritten) or not (import: such keys are reported as
/// conflicts and left as they are).
/// </param>
internal sealed class StateTransfer(IStateStore target, bool authoritative = false)
{
    private readonly IVersionPreservingStateStore _preserving = target.GetService<IVersionPreservingStateStore>()
        ?? throw new ToolException(ExitCodes.Store, $"the '{target.Name}' store cannot write at a given version (no IVersionPreservingStateStore), so versions could not be kept.");

    /// <summary>Gets what was done so far.</summary>
    public TransferReport Report { get; } = new();

    /// <summary>How many entries one batch writes (one transaction on the SQL stores).</summary>
    public const int BatchSize = 500;

    /// <summary>Writes entries at their versions and expiries as one batch, then settles the ones the target already held.</summary>
    public async Task WriteEntriesAsync(IReadOnlyList<ExportedEntry> entries, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var live = new List<StateEntry>(entries.Count);
        foreach (var entry in entries)
        {
            if (entry.ExpiresAt is { } at && at <= now)
            {
                Report.Count("expired");
            }
            else
            {
                live.Add(new StateEntry(entry.Key, entry.Value, entry.Version, entry.ExpiresAt));
            }
        }

        if (live.Count == 0)
        {
            return;
        }

        var written = await _preserving.SetManyAtVersionAsync(live, cancellationToken).ConfigureAwait(false);
        var settle = new List<Task>();
        for (var i = 0; i < live.Count; i++)
        {
            if (written[i])
            {
                Report.Count("written");
            }
            else
            {
                settle.Add(SettleAsync(live[i], cancellationToken));
            }
        }

        await Task.WhenAll(settle).ConfigureAwait(false);
    }

    /// <summary>Writes one entry at its version and expiry.</summary>
    public Task WriteEntryAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken) =>
        WriteEntriesAsync([new ExportedEntry(key, version, expiresAt, value.ToArray())], cancellationToken);

    /// <summary>An entry the target did not take: the same (maybe with another expiry), newer, or (authoritative) to replace.</summary>
    private async Task SettleAsync(StateEntry entry, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var current = await target.GetAsync(entry.Key, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                // It expired or was deleted in between: write again.
                if (await _preserving.SetAtVersionAsync(entry.Key, entry.Value, entry.Version, entry.ExpiresAt, cancellationToken).ConfigureAwait(false))
                {
                    Report.Count("written");
                    return;
                }

                continue;
            }

            if (current.Version == entry.Version && current.Value.Span.SequenceEqual(entry.Value.Span))
            {
                if (current.ExpiresAt != entry.ExpiresAt)
                {
                    await target.TouchAsync(entry.Key, entry.ExpiresAt is { } until ? Positive(until - DateTimeOffset.UtcNow) : Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
                }

                Report.Count("unchanged");
                return;
            }

            if (!authoritative)
            {
                Report.Conflicts.Enqueue(current.Version == entry.Version
                    ? $"{entry.Key}: the target holds version {entry.Version} with another value"
                    : $"{entry.Key}: the target holds version {current.Version}, newer than {entry.Version}");
                return;
            }

            // The source deleted and re-created the key (versions start again at 1): the target follows it.
            if (await target.DeleteAsync(entry.Key, current.Version, cancellationToken).ConfigureAwait(false))
            {
                Report.Count("recreated");
            }

            if (await _preserving.SetAtVersionAsync(entry.Key, entry.Value, entry.Version, entry.ExpiresAt, cancellationToken).ConfigureAwait(false))
            {
                Report.Count("written");
                return;
            }
        }

        Report.Conflicts.Enqueue($"{entry.Key}: kept changing at the target while being written");
    }

    /// <summary>Removes an entry the source no longer has.</summary>
    public async Task DeleteEntryAsync(string key, CancellationToken cancellationToken)
    {
        if (await target.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            Report.Count("deleted");
        }
    }

    /// <summary>Makes the target's list hold <paramref name="items"/>: appends what it lacks, or (authoritative) rewrites a list that differs.</summary>
    public async Task WriteListAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            if (await target.ListDeleteAsync(key, cancellationToken).ConfigureAwait(false))
            {
                Report.Count("listsDeleted");
            }

            return;
        }

        var timeToLive = expiresAt is { } at ? at - DateTimeOffset.UtcNow : Timeout.InfiniteTimeSpan;
        if (expiresAt is not null && timeToLive <= TimeSpan.Zero)
        {
            Report.Count("expired");
            return;
        }

        var current = await target.ListRangeAsync(key, 0, -1, cancellationToken).ConfigureAwait(false);
        var common = 0;
        while (common < current.Count && common < items.Count && current[common].Span.SequenceEqual(items[common].Span))
        {
            common++;
        }

        if (common < current.Count)
        {
            if (!authoritative)
            {
                Report.Conflicts.Enqueue($"{key}: the target's list differs from item {common} on");
                return;
            }

            await target.ListDeleteAsync(key, cancellationToken).ConfigureAwait(false);
            common = 0;
            Report.Count("listsReplaced");
        }

        if (common == items.Count)
        {
            await target.ListTouchAsync(key, timeToLive, cancellationToken).ConfigureAwait(false);
            Report.Count("listsUnchanged");
            return;
        }

        await target.ListAppendAsync(key, items.Skip(common).ToList(), timeToLive, cancellationToken).ConfigureAwait(false);
        Report.Count("listsWritten");
    }

    private static TimeSpan Positive(TimeSpan value) => value > TimeSpan.FromMilliseconds(1) ? value : TimeSpan.FromMilliseconds(1);
}
