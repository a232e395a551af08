using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using StateKit.Serialization;

namespace StateKit.File.Internal;

/// <summary>
/// The list file format: magic <c>SKL2</c>, the committed length (int64) and its CRC-32C (uint32), then records of
/// [type (1 byte)][payload length (int32)][payload][CRC-32C of type, length and payload (uint32)]. The first record is
/// the header (generation int64 + key), then items and expiry changes (UTC ticks int64) in append order.
/// </summary>
/// <remarks>
/// An append writes its records past the committed length, fsyncs, then writes the new committed length in place and
/// fsyncs again; only then is it acknowledged. Readers parse up to the committed length and ignore what lies beyond
/// (a torn or unacknowledged append, cut before the next one). So the two cases stay apart: bytes past the committed
/// length were never acknowledged and are dropped, while a bad record before it, or a file shorter than it, is damage
/// to acknowledged data and raises <see cref="StateCorruptedException"/>.
/// Files of the first format (<c>SKL1</c>, no committed length) are still read with the old rule (a bad last record
/// is a torn tail) and are rewritten in the new format by their next append or touch.
/// </remarks>
internal static class ListFile
{
    /// <summary>The size of the fixed header of the current format: magic, committed length, its checksum.</summary>
    public const int HeaderSize = 4 + 8 + 4;
    public const int CommittedOffset = 4;
    private const byte HeaderRecord = 1;
    private const byte ItemRecord = 2;
    private const byte ExpiryRecord = 3;
    private const int RecordOverhead = 1 + 4 + 4;
    private static ReadOnlySpan<byte> Magic => "SKL2"u8;

    private static ReadOnlySpan<byte> LegacyMagic => "SKL1"u8;

    /// <summary>The offset of the generation in the header record of a file of <paramref name="format"/>.</summary>
    public static int GenerationOffset(int format) => (format == 1 ? 4 : HeaderSize) + 5;

    /// <summary>Reads the fixed header: the format (1 or 2) and the committed length (the file length for format 1).</summary>
    /// <returns>What is wrong, or <see langword="null"/>.</returns>
    public static string? ReadHeader(ReadOnlySpan<byte> head, long fileLength, out int format, out long committed)
    {
        format = 0;
        committed = 0;
        if (head.Length >= 4 && head[..4].SequenceEqual(LegacyMagic))
        {
            format = 1;
            committed = fileLength;
            return null;
        }

        if (head.Length < HeaderSize || !head[..4].SequenceEqual(Magic))
        {
            return head.Length < HeaderSize ? $"the file is {head.Length} bytes, shorter than a list header" : "the file is not a StateKit list (bad magic)";
        }

        committed = BinaryPrimitives.ReadInt64LittleEndian(head[CommittedOffset..]);
        if (BinaryPrimitives.ReadUInt32LittleEndian(head[(CommittedOffset + 8)..]) != Crc32C.Compute(head.Slice(CommittedOffset, 8)) || committed < HeaderSize)
        {
            return "the committed-length marker is damaged";
        }

        format = 2;
        return fileLength < committed
            ? $"the file is {fileLength} bytes, shorter than the {committed} bytes of acknowledged items"
            : null;
    }

    /// <summary>The committed-length marker: the length and its checksum, written in place at <see cref="CommittedOffset"/>.</summary>
    public static byte[] CommittedMarker(long committed)
    {
        var marker = new byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(marker, committed);
        BinaryPrimitives.WriteUInt32LittleEndian(marker.AsSpan(8), Crc32C.Compute(marker.AsSpan(0, 8)));
        return marker;
    }

    public static byte[] NewFile(string key, long generation, long expiresAt, IEnumerable<ReadOnlyMemory<byte>> items)
    {
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write(Magic);
        buffer.Write(new byte[12]); // the committed length, filled in below
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var header = new byte[8 + keyBytes.Length];
        BinaryPrimitives.WriteInt64LittleEndian(header, generation);
        keyBytes.CopyTo(header, 8);
        WriteRecord(buffer, HeaderRecord, header);
        WriteExpiry(buffer, expiresAt);
        foreach (var item in items)
        {
            WriteRecord(buffer, ItemRecord, item.Span);
        }

        var file = buffer.WrittenSpan.ToArray();
        CommittedMarker(file.Length).CopyTo(file, CommittedOffset);
        return file;
    }

    public static byte[] AppendRecords(IReadOnlyList<ReadOnlyMemory<byte>> items, long? expiresAt)
    {
        var buffer = new ArrayBufferWriter<byte>();
        if (expiresAt is { } at)
        {
            WriteExpiry(buffer, at);
        }

        foreach (var item in items)
        {
            WriteRecord(buffer, ItemRecord, item.Span);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The bytes of a record before its payload: type (1) and length (4).</summary>
    public const int RecordPrefix = 5;

    /// <summary>Whether <paramref name="record"/> (type, length, payload, checksum) still holds a payload of <paramref name="length"/> bytes that matches its checksum.</summary>
    /// <param name="record">The whole record.</param>
    /// <param name="length">The payload length the index recorded.</param>
    /// <returns>Whether the record is sound.</returns>
    public static bool RecordIsSound(ReadOnlySpan<byte> record, int length) =>
        BinaryPrimitives.ReadInt32LittleEndian(record[1..]) == length
        && BinaryPrimitives.ReadUInt32LittleEndian(record[(RecordPrefix + length)..]) == Crc32C.Compute(record[..(RecordPrefix + length)]);

    /// <summary>
    /// Parses the records of <paramref name="chunk"/>, which starts at file offset <paramref name="chunkStart"/>
    /// (0 = the whole file, fixed header included), into <paramref name="index"/>. In format 2 the chunk ends at the
    /// committed length, so every record in it must be whole and sound; in format 1 a torn last record is dropped.
    /// </summary>
    /// <returns>What is wrong with the file, or <see langword="null"/>; on a problem the index must be reset.</returns>
    public static string? ParseInto(ListIndex index, ReadOnlySpan<byte> chunk, long chunkStart, int format)
    {
        var at = 0;
        var strict = format == 2;
        if (chunkStart == 0)
        {
            at = format == 1 ? LegacyMagic.Length : HeaderSize;
            index.ValidEnd = at;
            index.Format = format;
        }

        while (chunk.Length - at >= RecordOverhead)
        {
            var type = chunk[at];
            var length = BinaryPrimitives.ReadInt32LittleEndian(chunk[(at + 1)..]);
            if (length < 0 || length > chunk.Length - at - RecordOverhead)
            {
                if (strict)
                {
                    return $"the acknowledged record at offset {chunkStart + at} is cut short";
                }

                break;
            }

            var end = at + 5 + length;
            if (BinaryPrimitives.ReadUInt32LittleEndian(chunk[end..]) != Crc32C.Compute(chunk.Slice(at, 5 + length)))
            {
                if (end + 4 == chunk.Length && !strict)
                {
                    break;
                }

                return $"checksum mismatch in the record at offset {chunkStart + at}";
            }

            var payload = chunk.Slice(at + 5, length);
            switch (type)
            {
                case HeaderRecord when index.Key is null && chunkStart + at == (format == 1 ? LegacyMagic.Length : HeaderSize) && length > 8:
                    index.Generation = BinaryPrimitives.ReadInt64LittleEndian(payload);
                    index.Key = Encoding.UTF8.GetString(payload[8..]);
                    break;
                case ItemRecord when index.Key is not null:
                    index.Offsets.Add(chunkStart + at + 5);
                    index.Lengths.Add(length);
                    break;
                case ExpiryRecord when index.Key is not null && length == 8:
                    index.ExpiresAt = BinaryPrimitives.ReadInt64LittleEndian(payload);
                    break;
                default:
                    return $"unexpected record type {type} (length {length}) at offset {chunkStart + at}";
            }

            at = end + 4;
            index.ValidEnd = chunkStart + at;
        }

        if (strict && at != chunk.Length)
        {
            return $"the acknowledged record at offset {chunkStart + at} is cut short";
        }

        return index.Key is null ? "the file has no complete header record" : null;
    }

    private static void WriteExpiry(ArrayBufferWriter<byte> buffer, long expiresAt)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(payload, expiresAt);
        WriteRecord(buffer, ExpiryRecord, payload);
    }

    private static void WriteRecord(ArrayBufferWriter<byte> buffer, byte type, ReadOnlySpan<byte> payload)
    {
        var span = buffer.GetSpan(RecordOverhead + payload.Length);
        span[0] = type;
        BinaryPrimitives.WriteInt32LittleEndian(span[1..], payload.Length);
        payload.CopyTo(span[5..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(5 + payload.Length)..], Crc32C.Compute(span[..(5 + payload.Length)]));
        buffer.Advance(RecordOverhead + payload.Length);
    }
}
