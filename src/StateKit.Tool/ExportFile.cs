using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace StateKit.Tool;

/// <summary>An entry as an export file holds it.</summary>
internal sealed record ExportedEntry(string Key, long Version, DateTimeOffset? ExpiresAt, byte[] Value);

/// <summary>A run of a list's items as an export file holds it (long lists take several lines).</summary>
internal sealed record ExportedListChunk(string Key, DateTimeOffset? ExpiresAt, long Offset, byte[][] Items);

/// <summary>What an export file holds, from its last line.</summary>
internal sealed record ExportTotals(long Entries, long Lists, long Items);

/// <summary>
/// The export file: JSON lines, ASCII only. Line 1 is the header (<c>{"statekit":"export","format":1,…}</c>), then
/// entries sorted by key (<c>{"e":key,"v":version,"x":expiry ms,"d":base64}</c>), then lists sorted by key, each in
/// chunks of at most <see cref="ItemsPerLine"/> items (<c>{"l":key,"x":expiry ms,"o":offset,"i":[base64,…]}</c>), and
/// last the trailer (<c>{"end":true,"entries":…,"lists":…,"items":…,"sha256":…}</c>) with the SHA-256 of every line
/// before it. A file without the trailer is incomplete; one whose hash or counts disagree was changed.
/// </summary>
internal static class ExportFile
{
    /// <summary>The format version this tool writes and reads.</summary>
    public const int Format = 1;

    /// <summary>The most list items on one line.</summary>
    public const int ItemsPerLine = 500;

    /// <summary>Writes one record line (and hashes it).</summary>
    public static byte[] Line(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        "\n"u8.CopyTo(buffer.GetSpan(1));
        buffer.Advance(1);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The header line.</summary>
    public static byte[] Header(string source, string prefix) => Line(w =>
    {
        w.WriteString("statekit", "export");
        w.WriteNumber("format", Format);
        w.WriteString("created", DateTimeOffset.UtcNow);
        w.WriteString("source", source);
        w.WriteString("prefix", prefix);
    });

    /// <summary>An entry line.</summary>
    public static byte[] Entry(StateEntry entry) => Line(w =>
    {
        w.WriteString("e", entry.Key);
        w.WriteNumber("v", entry.Version);
        if (entry.ExpiresAt is { } at)
        {
            w.WriteNumber("x", at.ToUnixTimeMilliseconds());
        }

        w.WriteBase64String("d", entry.Value.Span);
    });

    /// <summary>A list chunk line.</summary>
    public static byte[] ListChunk(string key, DateTimeOffset? expiresAt, long offset, IReadOnlyList<ReadOnlyMemory<byte>> items) => Line(w =>
    {
        w.WriteString("l", key);
        if (expiresAt is { } at)
        {
            w.WriteNumber("x", at.ToUnixTimeMilliseconds());
        }

        w.WriteNumber("o", offset);
        w.WriteStartArray("i");
        foreach (var item in items)
        {
            w.WriteBase64StringValue(item.Span);
        }

        w.WriteEndArray();
    });

    /// <summary>The trailer line.</summary>
    public static byte[] Trailer(ExportTotals totals, byte[] sha256) => Line(w =>
    {
        w.WriteBoolean("end", true);
        w.WriteNumber("entries", totals.Entries);
        w.WriteNumber("lists", totals.Lists);
        w.WriteNumber("items", totals.Items);
        w.WriteString("sha256", Convert.ToHexStringLower(sha256));
    });

    /// <summary>
    /// Reads a file line by line, checking it as it goes: <paramref name="onRecord"/> gets each entry and list chunk.
    /// With <paramref name="complete"/> the file must end with a trailer that matches; without, reading stops quietly
    /// at the first incomplete line (for resuming an export) and the scan says where.
    /// </summary>
    /// <exception cref="ToolException">The file is not an export, is damaged, truncated or was changed (exit code 4).</exception>
    public static async Task<ExportScan> ScanAsync(string path, bool complete, Func<object, Task>? onRecord, CancellationToken cancellationToken)
    {
        if (!System.IO.File.Exists(path))
        {
            throw new ToolException(ExitCodes.BadFile, $"'{path}' does not exist.");
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        var scan = new ExportScan();
        var lineNumber = 0L;
        var listLengths = new Dictionary<string, long>(StringComparer.Ordinal);
        string? lastEntry = null;
        string? lastList = null;
        await foreach (var (line, terminated) in ReadLinesAsync(stream, cancellationToken).ConfigureAwait(false))
        {
            lineNumber++;
            if (scan.Totals is not null)
            {
                throw Bad(path, lineNumber, "there is more after the last line (the trailer)");
            }

            if (!terminated)
            {
                if (complete)
                {
                    throw Bad(path, lineNumber, "the file ends in the middle of a line: it is truncated (an export that did not finish; run export --resume)");
                }

                break;
            }

            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(line);
                root = document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                if (!complete)
                {
                    break;
                }

                throw Bad(path, lineNumber, $"not JSON ({ex.Message})");
            }

            try
            {
                if (lineNumber == 1)
                {
                    if (!root.TryGetProperty("statekit", out var kind) || kind.GetString() != "export")
                    {
                        throw Bad(path, 1, "not a statekit export file (no header)");
                    }

                    if (root.GetProperty("format").GetInt32() != Format)
                    {
                        throw Bad(path, 1, $"format {root.GetProperty("format").GetInt32()} is not the format {Format} this statekit reads");
                    }

                    scan.Source = root.GetProperty("source").GetString();
                }
                else if (root.TryGetProperty("end", out _))
                {
                    var expected = Convert.ToHexStringLower(hash.GetCurrentHash());
                    if (!string.Equals(root.GetProperty("sha256").GetString(), expected, StringComparison.Ordinal))
                    {
                        throw Bad(path, lineNumber, "the checksum does not match: the file was changed after it was written");
                    }

                    var totals = new ExportTotals(root.GetProperty("entries").GetInt64(), root.GetProperty("lists").GetInt64(), root.GetProperty("items").GetInt64());
                    if (totals != new ExportTotals(scan.Entries, listLengths.Count, scan.Items))
                    {
                        throw Bad(path, lineNumber, $"the trailer counts {totals.Entries} entries, {totals.Lists} lists and {totals.Items} items, the file holds {scan.Entries}, {listLengths.Count} and {scan.Items}");
                    }

                    scan.Totals = totals;
                    continue;
                }
                else if (root.TryGetProperty("e", out var entryKey))
                {
                    var key = entryKey.GetString() ?? throw Bad(path, lineNumber, "an entry without a key");
                    if (lastList is not null || (lastEntry is not null && string.CompareOrdinal(key, lastEntry) <= 0))
                    {
                        throw Bad(path, lineNumber, $"entry '{key}' is out of order");
                    }

                    var version = root.GetProperty("v").GetInt64();
                    if (version < 1)
                    {
                        throw Bad(path, lineNumber, $"entry '{key}' has version {version}");
                    }

                    var entry = new ExportedEntry(key, version, Expiry(root), root.GetProperty("d").GetBytesFromBase64());
                    lastEntry = key;
                    scan.Entries++;
                    scan.LastEntry = key;
                    scan.LastListStart = null;
                    if (onRecord is not null)
                    {
                        await onRecord(entry).ConfigureAwait(false);
                    }
                }
                else if (root.TryGetProperty("l", out var listKey))
                {
                    var key = listKey.GetString() ?? throw Bad(path, lineNumber, "a list without a key");
                    var offset = root.GetProperty("o").GetInt64();
                    var known = listLengths.GetValueOrDefault(key);
                    if (offset == 0 && (known > 0 || (lastList is not null && string.CompareOrdinal(key, lastList) <= 0)))
                    {
                        throw Bad(path, lineNumber, $"list '{key}' is out of order or repeated");
                    }

                    if (offset != known)
                    {
                        throw Bad(path, lineNumber, $"list '{key}' continues at item {offset}, but {known} items came before");
                    }

                    var items = root.GetProperty("i").EnumerateArray().Select(i => i.GetBytesFromBase64()).ToArray();
                    if (items.Length == 0)
                    {
                        throw Bad(path, lineNumber, $"list '{key}' has an empty chunk");
                    }

                    if (offset == 0)
                    {
                        scan.LastListStart = (key, scan.GoodLength, scan.Entries, listLengths.Count, scan.Items);
                        scan.CompletedList = lastList;
                    }

                    listLengths[key] = known + items.Length;
                    lastList = key;
                    scan.Items += items.Length;
                    if (onRecord is not null)
                    {
                        await onRecord(new ExportedListChunk(key, Expiry(root), offset, items)).ConfigureAwait(false);
                    }
                }
                else
                {
                    throw Bad(path, lineNumber, "an unknown record");
                }
            }
            catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw Bad(path, lineNumber, $"a record is malformed ({ex.Message})");
            }

            hash.AppendData(line);
            hash.AppendData("\n"u8);
            scan.GoodLength += line.Length + 1;
            scan.Lists = listLengths.Count;
        }

        if (lineNumber == 0)
        {
            throw new ToolException(ExitCodes.BadFile, $"'{path}' is empty: not an export file.");
        }

        if (complete && scan.Totals is null)
        {
            throw new ToolException(ExitCodes.BadFile, $"'{path}' has no trailer: it is truncated (an export that did not finish; run export --resume).");
        }

        return scan;
    }

    private static DateTimeOffset? Expiry(JsonElement root) =>
        root.TryGetProperty("x", out var x) ? DateTimeOffset.FromUnixTimeMilliseconds(x.GetInt64()) : null;

    private static ToolException Bad(string path, long line, string problem) => new(ExitCodes.BadFile, $"'{path}' line {line}: {problem}.");

    /// <summary>Splits a stream into lines (without the newline), saying whether each ended with one.</summary>
    private static async IAsyncEnumerable<(byte[] Line, bool Terminated)> ReadLinesAsync(Stream stream, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        var pending = new MemoryStream();
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] == (byte)'\n')
                {
                    pending.Write(buffer, start, i - start);
                    yield return (pending.ToArray(), true);
                    pending.SetLength(0);
                    start = i + 1;
                }
            }

            pending.Write(buffer, start, read - start);
        }

        if (pending.Length > 0)
        {
            yield return (pending.ToArray(), false);
        }
    }
}

/// <summary>What a scan of an export file found.</summary>
internal sealed class ExportScan
{
    /// <summary>Gets or sets the source the header names.</summary>
    public string? Source { get; set; }

    /// <summary>Gets or sets the entries read.</summary>
    public long Entries { get; set; }

    /// <summary>Gets or sets the lists read.</summary>
    public long Lists { get; set; }

    /// <summary>Gets or sets the list items read.</summary>
    public long Items { get; set; }

    /// <summary>Gets or sets the trailer's totals, when the file is complete.</summary>
    public ExportTotals? Totals { get; set; }

    /// <summary>Gets or sets how many bytes from the start are whole, checked lines.</summary>
    public long GoodLength { get; set; }

    /// <summary>Gets or sets the last entry key read.</summary>
    public string? LastEntry { get; set; }

    /// <summary>Gets or sets the last list whose lines all came before the list being written (for resuming).</summary>
    public string? CompletedList { get; set; }

    /// <summary>Gets or sets where the last list began: its key, the file length and the counts before it.</summary>
    public (string Key, long Length, long Entries, long Lists, long Items)? LastListStart { get; set; }
}

/// <summary>Hashes lines as they are written.</summary>
internal sealed class HashingWriter(Stream stream) : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>Hashes bytes already in the file (when resuming) without writing them.</summary>
    public void Seed(ReadOnlySpan<byte> bytes) => _hash.AppendData(bytes);

    /// <summary>Writes and hashes a line.</summary>
    public ValueTask WriteAsync(byte[] line, CancellationToken cancellationToken)
    {
        _hash.AppendData(line);
        return stream.WriteAsync(line, cancellationToken);
    }

    /// <summary>Writes the trailer (not hashed) and flushes to disk.</summary>
    public async Task FinishAsync(ExportTotals totals, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(ExportFile.Trailer(totals, _hash.GetCurrentHash()), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (stream is FileStream file)
        {
            file.Flush(flushToDisk: true);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _hash.Dispose();

    /// <summary>The text of a line, for messages.</summary>
    public static string Text(byte[] line) => Encoding.ASCII.GetString(line);
}
