using System.Buffers.Binary;
using System.Numerics;

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
