using System.Security.Cryptography;
using System.Text;

namespace StateKit.File.Internal;

/// <summary>
/// Maps keys to file names that can never leave their directory and never collide.
/// </summary>
/// <remarks>
/// A key becomes <c>k</c> + its UTF-8 bytes, where <c>a–z 0–9 - _</c> stay as they are and every other byte
/// (upper-case letters included, so case-insensitive file systems cannot merge two keys) becomes <c>%xx</c>.
/// The mapping is injective and produces no separator, no dot and no device name. A name longer than
/// <see cref="MaxEncodedLength"/> becomes <c>h</c> + the SHA-256 of the key; the file stores the key, which
/// is checked on every read.
/// </remarks>
internal static class FileNames
{
    public const int MaxEncodedLength = 200;
    private const string Hex = "0123456789abcdef";

    public static string ForKey(string key)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        var builder = new StringBuilder(bytes.Length + 1).Append('k');
        foreach (var b in bytes)
        {
            if (b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(Hex[b >> 4]).Append(Hex[b & 0xF]);
            }

            if (builder.Length > MaxEncodedLength)
            {
                return "h" + Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
            }
        }

        return builder.ToString();
    }

    /// <summary>Reverses <see cref="ForKey"/> for <c>k</c> names; <see langword="null"/> for hashed or foreign names.</summary>
    public static string? TryDecode(string fileName)
    {
        if (fileName.Length < 2 || fileName[0] != 'k')
        {
            return null;
        }

        var bytes = new List<byte>(fileName.Length);
        for (var i = 1; i < fileName.Length; i++)
        {
            var c = fileName[i];
            if (c == '%')
            {
                if (i + 2 >= fileName.Length)
                {
                    return null;
                }

                var hi = Hex.IndexOf(fileName[i + 1], StringComparison.Ordinal);
                var lo = Hex.IndexOf(fileName[i + 2], StringComparison.Ordinal);
                if (hi < 0 || lo < 0)
                {
                    return null;
                }

                bytes.Add((byte)((hi << 4) | lo));
                i += 2;
            }
            else if (c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_')
            {
                bytes.Add((byte)c);
            }
            else
            {
                return null;
            }
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    public static bool IsHashed(string fileName) => fileName.Length == 65 && fileName[0] == 'h';

    /// <summary>A hash of the file name that is the same in every process (unlike <see cref="string.GetHashCode()"/>).</summary>
    public static int Stripe(string fileName, int stripes) =>
        (int)(Serialization.Crc32C.Compute(Encoding.UTF8.GetBytes(fileName)) % (uint)stripes);
}
