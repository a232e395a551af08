using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace StateKit.Serialization;

/// <summary>CRC-32C (Castagnoli) checksums on the runtime's hardware-accelerated primitive; no package needed.</summary>
internal static class Crc32C
{
    /// <summary>Computes the CRC-32C of <paramref name="data"/>.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The checksum.</returns>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(uint.MaxValue, data);

    /// <summary>Computes the CRC-32C of two spans as if they were one.</summary>
    /// <param name="first">The first bytes.</param>
    /// <param name="second">The bytes that follow.</param>
    /// <returns>The checksum.</returns>
    public static uint Compute(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second) => ~Append(Append(uint.MaxValue, first), second);

    /// <summary>
    /// The checksum a store keeps beside a stored value, bound to the value's key and position so that bytes copied under
    /// another key (or to another list item) do not verify: CRC-32C over the key's length, the position, the key's
    /// UTF-16 code units (little-endian), then the value.
    /// </summary>
    /// <param name="key">The store key.</param>
    /// <param name="position">Where the value sits: <see cref="EntryPosition"/> for an entry, a list item's stable sequence number, or <see cref="ListItemPosition"/> where items have none.</param>
    /// <param name="value">The stored bytes.</param>
    /// <returns>The checksum.</returns>
    public static uint Keyed(string key, long position, ReadOnlySpan<byte> value)
    {
        Span<byte> header = stackalloc byte[sizeof(int) + sizeof(long)];
        BinaryPrimitives.WriteInt32LittleEndian(header, key.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[sizeof(int)..], position);
        var crc = Append(uint.MaxValue, header);
        if (BitConverter.IsLittleEndian)
        {
            crc = Append(crc, MemoryMarshal.AsBytes(key.AsSpan()));
        }
        else
        {
            foreach (var c in key)
            {
                crc = BitOperations.Crc32C(crc, (ushort)c);
            }
        }

        return ~Append(crc, value);
    }

    /// <summary>The position of an entry's value in <see cref="Keyed"/>.</summary>
    public const long EntryPosition = -1;

    /// <summary>The position of a list item in <see cref="Keyed"/> on a store whose items have no stable sequence number.</summary>
    public const long ListItemPosition = -2;

    private static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}
