using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace StateKit;

/// <summary>
/// One key of encryption at rest (<c>UseEncryption</c>): an id, stored in the clear in front of every value it encrypts,
/// and 256 bits of secret material for AES-256-GCM. The material never leaves this object: <see cref="ToString"/>,
/// exceptions and logs show the id only.
/// </summary>
public sealed class StateEncryptionKey
{
    /// <summary>The size of the secret material, in bytes (AES-256).</summary>
    public const int MaterialBytes = 32;

    /// <summary>The longest key id, in characters.</summary>
    public const int MaxIdLength = 64;

    /// <summary>Initializes a new instance of the <see cref="StateEncryptionKey"/> class.</summary>
    /// <param name="id">The key id: 1 to 64 characters of <c>A–Z a–z 0–9 . _ -</c>; stored with every value.</param>
    /// <param name="material">The secret: exactly 32 random bytes. Copied.</param>
    /// <exception cref="ArgumentException">The id is not valid or the material is not 32 bytes (the message never shows it).</exception>
    public StateEncryptionKey(string id, ReadOnlySpan<byte> material)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!IsValidId(id))
        {
            throw new ArgumentException($"An encryption key id must be 1 to {MaxIdLength} characters of A-Z, a-z, 0-9, '.', '_' and '-'; '{Printable(id)}' is not.", nameof(id));
        }

        if (material.Length != MaterialBytes)
        {
            throw new ArgumentException($"The encryption key '{id}' has {material.Length} bytes of material; AES-256 needs exactly {MaterialBytes}.", nameof(material));
        }

        Id = id;
        Material = material.ToArray();
        Header = new byte[3 + id.Length];
        Header[0] = StateCipher.Marker;
        Header[1] = StateCipher.FormatVersion;
        Header[2] = (byte)id.Length;
        Encoding.ASCII.GetBytes(id, Header.AsSpan(3));
        Fingerprint = BinaryPrimitives.ReadInt64LittleEndian(SHA256.HashData(Material));
    }

    /// <summary>Gets the key id, stored in the clear in front of every value this key encrypts.</summary>
    public string Id { get; }

    /// <summary>Gets the secret material.</summary>
    internal byte[] Material { get; }

    /// <summary>Gets the bytes every value this key encrypts starts with: marker, format version, id length, id.</summary>
    internal byte[] Header { get; }

    /// <summary>Gets a one-way fingerprint of the material, to tell two keys of one id apart without showing either.</summary>
    internal long Fingerprint { get; }

    /// <summary>Returns the key id (never the material).</summary>
    /// <returns>The id.</returns>
    public override string ToString() => Id;

    /// <summary>Tells whether <paramref name="id"/> is a valid key id.</summary>
    /// <param name="id">The id.</param>
    /// <returns>Whether it is 1 to 64 characters of <c>A–Z a–z 0–9 . _ -</c>.</returns>
    public static bool IsValidId(string? id) =>
        id is { Length: > 0 and <= MaxIdLength } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static string Printable(string id) => id.Length > MaxIdLength ? id[..MaxIdLength] + "…" : id;
}
