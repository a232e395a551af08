using System.Buffers.Binary;
using System.Text;
using StateKit.Serialization;

namespace StateKit.File.Internal;

/// <summary>
/// The entry file format (little-endian): magic <c>SKE1</c>, version (int64), expiry in UTC ticks (int64,
/// <see cref="long.MaxValue"/> = never), key length (int32), key (UTF-8), value length (int32), value,
/// CRC-32C (uint32) of everything before it.
/// </summary>
internal static class EntryFile
{
    public const int HeaderSize = 24;
    private static ReadOnlySpan<byte> Magic => "SKE1"u8;

    public static byte[] Encode(string key, ReadOnlySpan<byte> value, long version, long expiresAt)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var buffer = new byte[HeaderSize + keyBytes.Length + 4 + value.Length + 4];
        var span = buffer.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteInt64LittleEndian(span[4..], version);
        BinaryPrimitives.WriteInt64LittleEndian(span[12..], expiresAt);
        BinaryPrimitives.WriteInt32LittleEndian(span[20..], keyBytes.Length);
        keyBytes.CopyTo(span[HeaderSize..]);
        var at = HeaderSize + keyBytes.Length;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], value.Length);
        value.CopyTo(span[(at + 4)..]);
        var end = buffer.Length - 4;
        BinaryPrimitives.WriteUInt32LittleEndian(span[end..], Crc32C.Compute(span[..end]));
        return buffer;
    }

    /// <summary>Parses and checks a whole entry file; <paramref name="problem"/> says what is wrong when it returns false.</summary>
    public static bool TryDecode(byte[] data, out Decoded decoded, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        decoded = default;
        var span = data.AsSpan();
        if (!TryHeader(span, out var version, out var expiresAt, out var key, out problem))
        {
            return false;
        }

        var at = HeaderSize + Encoding.UTF8.GetByteCount(key);
        if (span.Length < at + 8)
        {
            problem = "the file is truncated before the value";
            return false;
        }

        var valueLength = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        if (valueLength < 0 || (long)at + 4 + valueLength + 4 != span.Length)
        {
            problem = $"the value length {valueLength} does not match the file size {span.Length}";
            return false;
        }

        var end = span.Length - 4;
        if (BinaryPrimitives.ReadUInt32LittleEndian(span[end..]) != Crc32C.Compute(span[..end]))
        {
            problem = "checksum mismatch";
            return false;
        }

        decoded = new Decoded(key, new ReadOnlyMemory<byte>(data, at + 4, valueLength), version, expiresAt);
        return true;
    }

    /// <summary>Reads only the fixed header and key (for listing and purging, without the checksum).</summary>
    public static bool TryHeader(ReadOnlySpan<byte> span, out long version, out long expiresAt, out string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        version = 0;
        expiresAt = 0;
        key = string.Empty;
        if (span.Length < HeaderSize || !span[..4].SequenceEqual(Magic))
        {
            problem = span.Length < HeaderSize ? $"the file is {span.Length} bytes, shorter than an entry header" : "the file is not a StateKit entry (bad magic)";
            return false;
        }

        version = BinaryPrimitives.ReadInt64LittleEndian(span[4..]);
        expiresAt = BinaryPrimitives.ReadInt64LittleEndian(span[12..]);
        var keyLength = BinaryPrimitives.ReadInt32LittleEndian(span[20..]);
        if (version < 1 || keyLength <= 0 || keyLength > span.Length - HeaderSize)
        {
            problem = $"the header is damaged (version {version}, key length {keyLength})";
            return false;
        }

        try
        {
            key = new UTF8Encoding(false, true).GetString(span.Slice(HeaderSize, keyLength));
        }
        catch (DecoderFallbackException)
        {
            problem = "the stored key is not valid UTF-8";
            return false;
        }

        problem = null;
        return true;
    }

    public readonly record struct Decoded(string Key, ReadOnlyMemory<byte> Value, long Version, long ExpiresAt);
}
