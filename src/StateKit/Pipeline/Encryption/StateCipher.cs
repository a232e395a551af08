using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace StateKit;

/// <summary>
/// The stored form of an encrypted value or list item: <c>0xE5</c>, format version 1, key id length, key id (ASCII),
/// 12-byte random nonce, ciphertext, 16-byte AES-GCM tag. The associated data is the header, whether it is a list item,
/// and the state key: a value moved to another key, or from a value to a list, fails authentication.
/// </summary>
internal static class StateCipher
{
    public const byte Marker = 0xE5;
    public const byte FormatVersion = 1;
    public const int NonceBytes = 12;
    public const int TagBytes = 16;
    private const int StackAad = 512;

    [ThreadStatic]
    private static StateEncryptionKey? t_key;

    [ThreadStatic]
    private static AesGcm? t_gcm;

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_randomAt;

    private const int RandomBatch = NonceBytes * 341;

    /// <summary>The bytes <paramref name="key"/> adds to every value it encrypts.</summary>
    public static int Overhead(StateEncryptionKey key) => key.Header.Length + NonceBytes + TagBytes;

    /// <summary>Whether <paramref name="stored"/> starts like an encrypted value (of any format version).</summary>
    public static bool LooksEncrypted(ReadOnlySpan<byte> stored) => stored.Length >= 3 && stored[0] == Marker;

    /// <summary>The key id <paramref name="stored"/> names, or <see langword="null"/> when it is not a well-formed encrypted value.</summary>
    public static string? KeyIdOf(ReadOnlySpan<byte> stored)
    {
        if (!LooksEncrypted(stored) || stored[1] != FormatVersion)
        {
            return null;
        }

        int length = stored[2];
        return length is > 0 and <= StateEncryptionKey.MaxIdLength && stored.Length >= 3 + length + NonceBytes + TagBytes
            ? Encoding.ASCII.GetString(stored.Slice(3, length))
            : null;
    }

    public static byte[] Encrypt(StateEncryptionKey key, string stateKey, bool listItem, ReadOnlySpan<byte> plaintext)
    {
        var header = key.Header;
        var stored = new byte[header.Length + NonceBytes + plaintext.Length + TagBytes];
        header.CopyTo(stored, 0);
        var nonce = stored.AsSpan(header.Length, NonceBytes);
        NextNonce(nonce);
        using var aad = new AssociatedData(stackalloc byte[StackAad], header, stateKey, listItem);
        var at = header.Length + NonceBytes;
        Gcm(key).Encrypt(nonce, plaintext, stored.AsSpan(at, plaintext.Length), stored.AsSpan(at + plaintext.Length), aad.Bytes);
        return stored;
    }

    /// <summary>Decrypts <paramref name="stored"/>; the key is looked up by the id it names.</summary>
    /// <exception cref="StateCorruptedException">The bytes are not an encrypted value this version reads, or fail authentication.</exception>
    /// <exception cref="StateEncryptionKeyNotFoundException">The ring has no key of the id the value names.</exception>
    public static byte[] Decrypt(IStateEncryptionKeyRing ring, string storeName, string operation, string stateKey, bool listItem, ReadOnlySpan<byte> stored)
    {
        if (stored[1] != FormatVersion)
        {
            throw new StateCorruptedException(storeName, operation, stateKey, $"the value is encrypted in format version {stored[1]}, which this StateKit does not know (written by a newer StateKit, or damaged)");
        }

        var keyId = KeyIdOf(stored) ?? throw new StateCorruptedException(storeName, operation, stateKey, "the encrypted value is truncated or its header is damaged");
        var key = ring.FindKey(keyId) ?? throw new StateEncryptionKeyNotFoundException(storeName, operation, stateKey, keyId);
        var header = stored[..(3 + keyId.Length)];
        var body = stored[header.Length..];
        var plaintext = new byte[body.Length - NonceBytes - TagBytes];
        using var aad = new AssociatedData(stackalloc byte[StackAad], header, stateKey, listItem);
        try
        {
            Gcm(key).Decrypt(body[..NonceBytes], body.Slice(NonceBytes, plaintext.Length), body[^TagBytes..], plaintext, aad.Bytes);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new StateCorruptedException(storeName, operation, stateKey, $"the encrypted value failed authentication with key '{keyId}': it was altered, copied from another key, or key '{keyId}' is not the key it was written with", innerException: e);
        }

        return plaintext;
    }

    /// <summary>
    /// A random nonce: 12 bytes of the operating system's random generator, drawn 4 KB at a time per thread (a call to
    /// the generator costs as much as encrypting a kilobyte). Each nonce is used once and never derived from another.
    /// </summary>
    private static void NextNonce(Span<byte> nonce)
    {
        var random = t_random ??= new byte[RandomBatch];
        if (t_randomAt == 0)
        {
            RandomNumberGenerator.Fill(random);
        }

        var taken = random.AsSpan(t_randomAt, NonceBytes);
        taken.CopyTo(nonce);
        taken.Clear();
        t_randomAt = (t_randomAt + NonceBytes) % RandomBatch;
    }

    /// <summary>This thread's AES-GCM instance for <paramref name="key"/> (an instance is not shared between threads).</summary>
    private static AesGcm Gcm(StateEncryptionKey key)
    {
        if (!ReferenceEquals(t_key, key) || t_gcm is null)
        {
            t_gcm?.Dispose();
            t_gcm = new AesGcm(key.Material, TagBytes);
            t_key = key;
        }

        return t_gcm;
    }

    /// <summary>The associated data of one value: header, list-item flag, UTF-8 state key; on the stack when it fits.</summary>
    private ref struct AssociatedData
    {
        private readonly byte[]? _rented;

        public AssociatedData(Span<byte> stack, ReadOnlySpan<byte> header, string stateKey, bool listItem)
        {
            var length = header.Length + 1 + Encoding.UTF8.GetMaxByteCount(stateKey.Length);
            var buffer = length <= stack.Length ? stack : (_rented = ArrayPool<byte>.Shared.Rent(length));
            header.CopyTo(buffer);
            buffer[header.Length] = listItem ? (byte)1 : (byte)0;
            Bytes = buffer[..(header.Length + 1 + Encoding.UTF8.GetBytes(stateKey, buffer[(header.Length + 1)..]))];
        }

        public ReadOnlySpan<byte> Bytes { get; }

        public readonly void Dispose()
        {
            if (_rented is not null)
            {
                ArrayPool<byte>.Shared.Return(_rented);
            }
        }
    }
}
