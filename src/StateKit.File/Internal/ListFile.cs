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
/// and is dropped; earlier records survive. A bad record followed by more data is corruption.
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

    public static Parsed Parse(byte[] data, bool collectItems)
    {
        if (data.Length < Magic.Length)
        {
            // A file cut short while being created holds no acknowledged item.
            return new Parsed { IsEmpty = true };
        }

        if (!data.AsSpan(0, 4).SequenceEqual(Magic))
        {
            return new Parsed { Problem = "the file is not a StateKit list (bad magic)" };
        }

        var parsed = new Parsed { Items = collectItems ? [] : null, ExpiresAt = long.MaxValue };
        var at = Magic.Length;
        while (at < data.Length)
        {
            var remaining = data.Length - at;
            if (remaining < RecordOverhead)
            {
                break;
            }

            var type = data[at];
            var length = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(at + 1));
            if (length < 0 || length > remaining - RecordOverhead)
            {
                break;
            }

            var end = at + 5 + length;
            if (BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(end)) != Crc32C.Compute(data.AsSpan(at, 5 + length)))
            {
                if (end + 4 == data.Length)
                {
                    break;
                }

                parsed.Problem = $"checksum mismatch in the record at offset {at}";
                return parsed;
            }

            var payload = new ReadOnlyMemory<byte>(data, at + 5, length);
            switch (type)
            {
                case HeaderRecord when at == Magic.Length && length > 8:
                    parsed.Generation = BinaryPrimitives.ReadInt64LittleEndian(payload.Span);
                    parsed.Key = Encoding.UTF8.GetString(payload.Span[8..]);
                    break;
                case ItemRecord when parsed.Key is not null:
                    parsed.Count++;
                    parsed.Items?.Add(payload);
                    break;
                case ExpiryRecord when parsed.Key is not null && length == 8:
                    parsed.ExpiresAt = BinaryPrimitives.ReadInt64LittleEndian(payload.Span);
                    break;
                default:
                    parsed.Problem = $"unexpected record type {type} (length {length}) at offset {at}";
                    return parsed;
            }

            at = end + 4;
        }

        parsed.ValidEnd = at;
        parsed.IsEmpty = parsed.Key is null;
        return parsed;
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

    internal sealed class Parsed
    {
        public string? Problem { get; set; }

        public bool IsEmpty { get; set; }

        public string? Key { get; set; }

        public long Generation { get; set; }

        public long ExpiresAt { get; set; } = long.MaxValue;

        public long Count { get; set; }

        public long ValidEnd { get; set; }

        public List<ReadOnlyMemory<byte>>? Items { get; set; }
    }
}
