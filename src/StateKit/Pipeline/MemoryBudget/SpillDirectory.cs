using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Microsoft.Win32.SafeHandles;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>Where a spilled entry's record is: its segment file, offset and length.</summary>
internal readonly record struct SpillLocation(int Segment, long Offset, int Length);

/// <summary>
/// The files a <see cref="SpillingStateStore"/> moves entries to, in a directory of this process (<c>{pid}-{random}</c>
/// under the configured directory): records appended to segment files of about 4 MB, each with a CRC-32C over
/// everything after it, read back by offset. A record is referenced only once it is completely written, so a reader never
/// sees half of one; a segment file is deleted when the last record in it was restored or removed. No fsync: spilled
/// entries belong to the memory store and never outlive the process; the directory is removed on dispose, and the
/// directories of processes that are gone are removed when the next one starts.
/// </summary>
/// <remarks>
/// Record layout: <c>"SKSP"</c>, CRC-32C (of the rest), version (8 bytes), expiry ticks (8 bytes,
/// <see cref="long.MaxValue"/> for none), key length (4 bytes), the key in UTF-8, the value. Space of records restored
/// from a segment that still holds others is given back only when the whole segment empties.
/// </remarks>
internal sealed class SpillDirectory : IDisposable
{
    private const int HeaderBytes = 28;
    private const long SegmentBytes = 4 * 1024 * 1024;
    private static readonly uint Magic = BinaryPrimitives.ReadUInt32LittleEndian("SKSP"u8);
    private readonly object _writeLock = new();
    private readonly Dictionary<int, Segment> _segments = [];
    private Segment? _current;
    private int _nextSegment;

    public SpillDirectory(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        PrivateFiles.CreateDirectory(root);
        RemoveLeftovers(root);
        Path = PrivateFiles.CreateDirectory(System.IO.Path.Combine(root, $"{Environment.ProcessId}-{Guid.NewGuid():N}")).FullName;
    }

    /// <summary>Gets this store's own directory.</summary>
    public string Path { get; }

    /// <summary>Gets or sets a failure every write throws (fault-injection tests only).</summary>
    internal Exception? FailWritesForTest { get; set; }

    /// <summary>Appends an entry's record and returns where it is.</summary>
    public SpillLocation Write(string key, ReadOnlySpan<byte> value, long version, long expiresAtTicks)
    {
        var keyBytes = Encoding.UTF8.GetByteCount(key);
        var buffer = new byte[HeaderBytes + keyBytes + value.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(8), version);
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(16), expiresAtTicks);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(24), keyBytes);
        Encoding.UTF8.GetBytes(key, buffer.AsSpan(HeaderBytes));
        value.CopyTo(buffer.AsSpan(HeaderBytes + keyBytes));
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(4), Crc32C.Compute(buffer.AsSpan(8)));

        lock (_writeLock)
        {
            if (FailWritesForTest is { } failure)
            {
                throw failure;
            }

            if (_current is null || _current.Length >= SegmentBytes)
            {
                Seal();
                _current = Open();
            }

            var segment = _current;
            RandomAccess.Write(segment.Handle, buffer, segment.Length);
            var location = new SpillLocation(segment.Id, segment.Length, buffer.Length);
            segment.Length += buffer.Length;
            segment.Live++;
            return location;
        }
    }

    /// <summary>Reads an entry's value back; a damaged, cut short or foreign record is a <see cref="StateCorruptedException"/>.</summary>
    public byte[] Read(SpillLocation location, string key, long version)
    {
        Segment? segment;
        lock (_writeLock)
        {
            _segments.TryGetValue(location.Segment, out segment);
        }

        var where = System.IO.Path.Combine(Path, FileName(location.Segment));
        if (segment is null)
        {
            throw new StateCorruptedException("memory", "spill restore", key, "its spill segment is gone", where);
        }

        var buffer = new byte[location.Length];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = RandomAccess.Read(segment.Handle, buffer.AsSpan(read), location.Offset + read);
            if (n == 0)
            {
                throw new StateCorruptedException("memory", "spill restore", key, "its spill record is cut short", where);
            }

            read += n;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(buffer) != Magic || BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(4)) != Crc32C.Compute(buffer.AsSpan(8)))
        {
            throw new StateCorruptedException("memory", "spill restore", key, "its spill record fails its checksum", where);
        }

        var keyBytes = BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(24));
        if (keyBytes < 0 || HeaderBytes + keyBytes > buffer.Length
            || BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(8)) != version
            || !Encoding.UTF8.GetString(buffer, HeaderBytes, keyBytes).Equals(key, StringComparison.Ordinal))
        {
            throw new StateCorruptedException("memory", "spill restore", key, "its spill record holds another entry", where);
        }

        return buffer[(HeaderBytes + keyBytes)..];
    }

    /// <summary>Gives up a record; a sealed segment with no record left is deleted.</summary>
    public void Delete(SpillLocation location)
    {
        lock (_writeLock)
        {
            if (_segments.TryGetValue(location.Segment, out var segment) && --segment.Live == 0 && !ReferenceEquals(segment, _current))
            {
                Close(segment);
            }
        }
    }

    /// <summary>Closes every segment and removes this store's directory.</summary>
    public void Dispose()
    {
        lock (_writeLock)
        {
            foreach (var segment in _segments.Values.ToArray())
            {
                segment.Handle.Dispose();
            }

            _segments.Clear();
            _current = null;
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Flips the last byte of a record, as a damaged disk would (tests only).</summary>
    internal void DamageForTest(SpillLocation location)
    {
        var segment = _segments[location.Segment];
        var last = new byte[1];
        RandomAccess.Read(segment.Handle, last, location.Offset + location.Length - 1);
        last[0] ^= 0x5A;
        RandomAccess.Write(segment.Handle, last, location.Offset + location.Length - 1);
    }

    /// <summary>Cuts the segment of a record short, as a failing disk would (tests only).</summary>
    internal void TruncateForTest(SpillLocation location) => RandomAccess.SetLength(_segments[location.Segment].Handle, location.Offset + (location.Length / 2));

    /// <summary>Removes the directories of processes that are not running any more.</summary>
    private static void RemoveLeftovers(string root)
    {
        foreach (var directory in Directory.EnumerateDirectories(root))
        {
            var name = System.IO.Path.GetFileName(directory);
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(name.AsSpan(0, dash), out var pid) && pid != Environment.ProcessId && !IsRunning(pid))
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (IOException)
                {
                    // Another process removes it at the same time, or a file is held: the next start tries again.
                }
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string FileName(int segment) => segment.ToString("x8", System.Globalization.CultureInfo.InvariantCulture) + ".spill";

    private Segment Open()
    {
        var id = ++_nextSegment;
        var handle = File.OpenHandle(System.IO.Path.Combine(Path, FileName(id)), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(handle, PrivateFiles.OwnerOnly); // in a 0700 directory already; spilled values are state too
        }

        var segment = new Segment(id, handle);
        _segments.Add(id, segment);
        return segment;
    }

    /// <summary>Stops appending to the current segment; deleted at once when nothing in it is live.</summary>
    private void Seal()
    {
        if (_current is { Live: 0 } empty)
        {
            Close(empty);
        }

        _current = null;
    }

    private void Close(Segment segment)
    {
        _segments.Remove(segment.Id);
        segment.Handle.Dispose();
        File.Delete(System.IO.Path.Combine(Path, FileName(segment.Id)));
    }

    private sealed class Segment(int id, SafeFileHandle handle)
    {
        public int Id { get; } = id;

        public SafeFileHandle Handle { get; } = handle;

        public long Length { get; set; }

        public int Live { get; set; }
    }
}
