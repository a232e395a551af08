using System.Buffers.Binary;

namespace StateKit.CrashWriter;

/// <summary>Self-describing values: any complete value can be regenerated from its first 12 bytes, so a torn one is caught.</summary>
public static class Payloads
{
    public static byte[] Entry(long round, int keyIndex)
    {
        var size = 12 + (int)((round * 7919 + keyIndex * 104729) % 20000);
        var bytes = new byte[size];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, round);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), keyIndex);
        for (var i = 12; i < size; i++)
        {
            bytes[i] = (byte)((round * 31) + (keyIndex * 17) + i);
        }

        return bytes;
    }

    /// <summary>Returns null when <paramref name="value"/> is a complete payload for <paramref name="keyIndex"/>, else what is wrong.</summary>
    public static string? Check(ReadOnlySpan<byte> value, int keyIndex, out long round)
    {
        round = -1;
        if (value.Length < 12)
        {
            return $"only {value.Length} bytes";
        }

        round = BinaryPrimitives.ReadInt64LittleEndian(value);
        var index = BinaryPrimitives.ReadInt32LittleEndian(value[8..]);
        if (index != keyIndex || round < 1)
        {
            return $"header says key {index}, round {round}";
        }

        return value.SequenceEqual(Entry(round, keyIndex)) ? null : $"round {round} bytes differ from the expected value";
    }

    public static string Key(int keyIndex) => $"entry/{keyIndex:D2}";
}
