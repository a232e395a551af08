using System.Buffers.Binary;
using System.Text;
using System.Threading.Channels;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>One write of a journal record: a set (value, version, expiry) or a delete (the version deleted).</summary>
internal sealed record JournaledWrite(string Key, byte[]? Value, long Version, DateTimeOffset? ExpiresAt);

/// <summary>
/// The durable journal of a <see cref="WriteBehindStateStore"/>: records appended to segment files in a local directory,
/// each with a length and a CRC-32C. Appends are group-committed: every record waiting when the writer wakes goes out in
/// one write and one data sync, and each append completes only after its sync (checked: a failed sync fails the appends).
/// Segments are 16 MB files zero-filled when created (so appends change no file metadata and a data sync is enough); they
/// are sealed when full and deleted once every record in them has reached the store. On start, the records are read
/// back in order; a torn record or the zeros after the last record end a segment.
/// </summary>
internal sealed class WriteBehindJournal : IAsyncDisposable
{
    private readonly long _segmentBytes;
    private readonly string _directory;
    private readonly Channel<(byte[] Record, long Seq, TaskCompletionSource Done)> _appends = Channel.CreateUnbounded<(byte[], long, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<(string Path, long MaxSeq)> _sealed = [];
    private readonly Task _writer;
    private FileStream? _current;
    private string _currentPath = string.Empty;
    private long _currentMaxSeq;
    private long _offset;
    private int _nextSegment;

    public WriteBehindJournal(string directory, long segmentBytes, out IReadOnlyList<(long Seq, IReadOnlyList<JournaledWrite> Writes)> recovered)
    {
        _segmentBytes = segmentBytes;
        _directory = PrivateFiles.CreateDirectory(directory).FullName;
        var records = new List<(long, IReadOnlyList<JournaledWrite>)>();
        foreach (var path in Directory.GetFiles(_directory, "journal-*.log").OrderBy(SegmentNumber))
        {
            var maxSeq = 0L;
            foreach (var record in Read(path))
            {
                records.Add(record);
                maxSeq = Math.Max(maxSeq, record.Seq);
            }

            _sealed.Add((path, maxSeq));
            _nextSegment = Math.Max(_nextSegment, SegmentNumber(path));
        }

        recovered = records;
        try
        {
            (_current, _currentPath) = OpenSegment();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStoreUnavailableException("write-behind", "open journal", null, $"a new journal segment could not be created in '{_directory}' (a full disk or missing permission?)", ex, writeMayHaveApplied: false);
        }

        _writer = Task.Run(WriteAsync);
    }

    /// <summary>Appends one record of writes and completes once it is on disk (fsynced).</summary>
    public Task AppendAsync(long seq, IReadOnlyList<JournaledWrite> writes)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_appends.Writer.TryWrite((Encode(seq, writes), seq, done)))
        {
            throw new ObjectDisposedException(nameof(WriteBehindJournal));
        }

        return done.Task;
    }

    /// <summary>Deletes the sealed segments whose records all have a sequence below <paramref name="watermark"/> (all flushed).</summary>
    public void Release(long watermark)
    {
        lock (_sealed)
        {
            for (var i = _sealed.Count - 1; i >= 0; i--)
            {
                if (_sealed[i].MaxSeq < watermark)
                {
                    File.Delete(_sealed[i].Path);
                    _sealed.RemoveAt(i);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _appends.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        if (_current is not null)
        {
            await _current.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static int SegmentNumber(string path) =>
        int.Parse(Path.GetFileNameWithoutExtension(path).AsSpan("journal-".Length), System.Globalization.CultureInfo.InvariantCulture);

    private static byte[] Encode(long seq, IReadOnlyList<JournaledWrite> writes)
    {
        var size = 8 + 8 + 4;
        foreach (var write in writes)
        {
            size += 4 + Encoding.UTF8.GetByteCount(write.Key) + 8 + 8 + 1 + 4 + (write.Value?.Length ?? 0);
        }

        var buffer = new byte[size];
        var span = buffer.AsSpan(8);
        BinaryPrimitives.WriteInt64LittleEndian(span, seq);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], writes.Count);
        var at = 12;
        foreach (var write in writes)
        {
            var keyBytes = Encoding.UTF8.GetBytes(write.Key);
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], keyBytes.Length);
            keyBytes.CopyTo(span[(at + 4)..]);
            at += 4 + keyBytes.Length;
            BinaryPrimitives.WriteInt64LittleEndian(span[at..], write.Version);
            BinaryPrimitives.WriteInt64LittleEndian(span[(at + 8)..], write.ExpiresAt?.UtcTicks ?? -1);
            span[at + 16] = write.Value is null ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteInt32LittleEndian(span[(at + 17)..], write.Value?.Length ?? 0);
            write.Value?.CopyTo(span[(at + 21)..]);
            at += 21 + (write.Value?.Length ?? 0);
        }

        BinaryPrimitives.WriteInt32LittleEndian(buffer, size - 8);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(4), Crc32C.Compute(buffer.AsSpan(8)));
        return buffer;
    }

    private static IEnumerable<(long Seq, IReadOnlyList<JournaledWrite> Writes)> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var at = 0;
        while (at + 8 <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
            if (length < 12 || at + 8 + length > bytes.Length
                || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 4)) != Crc32C.Compute(bytes.AsSpan(at + 8, length)))
            {
                yield break; // a torn tail: written by a crash, never acknowledged
            }

            var span = bytes.AsSpan(at + 8, length);
            var seq = BinaryPrimitives.ReadInt64LittleEndian(span);
            var count = BinaryPrimitives.ReadInt32LittleEndian(span[8..]);
            var writes = new List<JournaledWrite>(count);
            var p = 12;
            for (var i = 0; i < count; i++)
            {
                var keyLength = BinaryPrimitives.ReadInt32LittleEndian(span[p..]);
                var key = Encoding.UTF8.GetString(span.Slice(p + 4, keyLength));
                p += 4 + keyLength;
                var version = BinaryPrimitives.ReadInt64LittleEndian(span[p..]);
                var expires = BinaryPrimitives.ReadInt64LittleEndian(span[(p + 8)..]);
                var deleted = span[p + 16] == 1;
                var valueLength = BinaryPrimitives.ReadInt32LittleEndian(span[(p + 17)..]);
                var value = deleted ? null : span.Slice(p + 21, valueLength).ToArray();
                p += 21 + valueLength;
                writes.Add(new JournaledWrite(key, value, version, expires < 0 ? null : new DateTimeOffset(expires, TimeSpan.Zero)));
            }

            yield return (seq, writes);
            at += 8 + length;
        }
    }

    /// <summary>Creates the next zero-filled, synced segment; on failure nothing of it is left and no state of the journal changed.</summary>
    private (FileStream Stream, string Path) OpenSegment(long minimumBytes = 0)
    {
        var path = Path.Combine(_directory, $"journal-{_nextSegment + 1:D8}.log");
        var stream = PrivateFiles.Open(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        try
        {
            var zeros = new byte[1024 * 1024];
            for (long written = 0, size = Math.Max(_segmentBytes, minimumBytes); written < size; written += zeros.Length)
            {
                stream.Write(zeros, 0, (int)Math.Min(zeros.Length, size - written));
            }

            stream.Flush(flushToDisk: false);
            DurableFile.SyncData(stream.SafeFileHandle, stream);
            DurableFile.SyncDirectory(_directory);
        }
        catch
        {
            stream.Dispose();
            try
            {
                File.Delete(path); // holds no record: never leave a (16 MB) half-made segment behind
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // found empty (zeros only) on the next start, and given up with the others
            }

            throw;
        }

        _nextSegment++;
        return (stream, path);
    }

    /// <summary>The group commit: everything waiting goes out in one write and one data sync.</summary>
    private async Task WriteAsync()
    {
        var batch = new List<(byte[] Record, long Seq, TaskCompletionSource Done)>();
        var mustRoll = false;
        while (await _appends.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (_appends.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                var buffer = new byte[batch.Sum(b => b.Record.Length)];
                var at = 0;
                foreach (var (record, _, _) in batch)
                {
                    record.CopyTo(buffer, at);
                    at += record.Length;
                }

                // A full segment, or one where a failed write may have left part of a record, is sealed (its records so
                // far) and the appends go on in a new zero-filled segment.
                // The current segment is sealed once (its path and top sequence recorded before anything else can fail);
                // when the new one cannot be made, there is no current segment until a later append makes one.
                if (_current is not null && (mustRoll || _offset + buffer.Length > _current.Length))
                {
                    var full = _current;
                    _current = null;
                    lock (_sealed)
                    {
                        _sealed.Add((_currentPath, _currentMaxSeq));
                    }

                    await full.DisposeAsync().ConfigureAwait(false);
                }

                if (_current is null)
                {
                    (_current, _currentPath) = OpenSegment(buffer.Length);
                    (_currentMaxSeq, _offset) = (0, 0);
                    mustRoll = false;
                }

                _currentMaxSeq = Math.Max(_currentMaxSeq, batch.Max(b => b.Seq));
                RandomAccess.Write(_current.SafeFileHandle, buffer, _offset);
                DurableFile.SyncData(_current.SafeFileHandle, _current);
                _offset += buffer.Length;
                foreach (var (_, _, done) in batch)
                {
                    done.TrySetResult();
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                mustRoll = true;
                foreach (var (_, _, done) in batch)
                {
                    done.TrySetException(new StateStoreUnavailableException("write-behind", "journal", null, "the write-behind journal could not be written and synced; the write may still be replayed from it after a restart", ex, writeMayHaveApplied: true));
                }
            }
        }
    }
}
