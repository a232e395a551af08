using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using StateKit.Serialization;

namespace StateKit.File.Internal;

/// <summary>
/// The list file format: magic <c>SKL1</c>, then records of [type (1 byte)][payload length (int32)][payload]
/// [CRC-32C of type, length and payload (uint32)]. The first record is the header (generation int64 + key),
/// then items and expiry changes (UTC ticks int64) in append order.
/// </summary>
/// <remarks>
/// A record cut short at the end of the file (a crash during an append) fails its length or checksum check
/// and is dropped; earlier records survive. A bad record followed by more data is corruption. Within one
/// generation a file only grows (a torn tail is cut before the next append), so a parsed prefix stays valid
/// and later reads parse only what was appended since.
/// </remarks>
internal static class ListFile
{
    public const int GenerationOffset = 4 + 5;
    private const byte HeaderRecord = 1;
    private const byte ItemRecord = 2;
    private const byte ExpiryRecord = 3;
    private const int RecordOverhead = 1 + 4 + 4;
    private static ReadOnlySpan<byte> Magic => "SKL1"u8;

    public static byte[] NewFile(string key, long generation, long expiresAt, IEnumerable<ReadOnlyMemory<byte>> items)
    {
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write(Magic);
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

        return buffer.WrittenSpan.ToArray();
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

    /// <summary>
    /// Parses the records of <paramref name="chunk"/>, which starts at file offset <paramref name="chunkStart"/>
    /// (0 = the whole file, magic included), into <paramref name="index"/>. Stops before a torn last record.
    /// </summary>
    /// <returns>What is wrong with the file, or <see langword="null"/>; on a problem the index must be reset.</returns>
    public static string? ParseInto(ListIndex index, ReadOnlySpan<byte> chunk, long chunkStart)
    {
        var at = 0;
        if (chunkStart == 0)
        {
            if (chunk.Length < Magic.Length || !chunk[..Magic.Length].SequenceEqual(Magic))
            {
                return chunk.Length < Magic.Length ? $"the file is {chunk.Length} bytes, shorter than a list header" : "the file is not a StateKit list (bad magic)";
            }

            at = Magic.Length;
            index.ValidEnd = at;
        }

        while (chunk.Length - at >= RecordOverhead)
        {
            var type = chunk[at];
            var length = BinaryPrimitives.ReadInt32LittleEndian(chunk[(at + 1)..]);
            if (length < 0 || length > chunk.Length - at - RecordOverhead)
            {
                break;
            }

            var end = at + 5 + length;
            if (BinaryPrimitives.ReadUInt32LittleEndian(chunk[end..]) != Crc32C.Compute(chunk.Slice(at, 5 + length)))
            {
                if (end + 4 == chunk.Length)
                {
                    break;
                }

                return $"checksum mismatch in the record at offset {chunkStart + at}";
            }

            var payload = chunk.Slice(at + 5, length);
            switch (type)
            {
                case HeaderRecord when index.Key is null && chunkStart + at == Magic.Length && length > 8:
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
