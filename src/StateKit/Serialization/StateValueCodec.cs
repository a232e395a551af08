using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace StateKit.Serialization;

/// <summary>
/// Serializes typed state into a small checksummed envelope and back, so damaged bytes raise
/// <see cref="StateCorruptedException"/> instead of deserializing into garbage.
/// </summary>
/// <remarks>
/// Layout: byte 0 = marker <c>0xA7</c>, byte 1 = envelope version, byte 2 = serializer format id,
/// byte 3 = <see cref="StateCompression"/>, bytes 4–7 = CRC-32C (little-endian) of bytes 0–3 and everything after byte 7,
/// then, in envelope version 2 only, the type's schema version (<see cref="StateVersionAttribute"/>, int32 little-endian,
/// 2 or more), then the payload. Version 1 (a type at schema version 1) has no schema field. A compressed payload starts
/// with its inflated length (int32, little-endian).
/// </remarks>
public sealed class StateValueCodec
{
    /// <summary>The size of the envelope header in bytes.</summary>
    public const int HeaderSize = 8;

    private const byte Marker = 0xA7;
    private const byte EnvelopeVersion = 1;
    private const byte EnvelopeVersionWithSchema = 2;
    private const int SchemaBytes = 4;
    private const string Origin = "serializer";
    private const int MaxRetainedBufferBytes = 1024 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    private readonly IStateSerializer _serializer;
    private readonly StateEnvelopeOptions _options;

    /// <summary>Initializes a new instance of the <see cref="StateValueCodec"/> class.</summary>
    /// <param name="serializer">The serializer; <see cref="JsonStateSerializer"/> when <see langword="null"/>.</param>
    /// <param name="options">The envelope options; defaults when <see langword="null"/>.</param>
    public StateValueCodec(IStateSerializer? serializer = null, StateEnvelopeOptions? options = null)
    {
        _serializer = serializer ?? new JsonStateSerializer();
        _options = options ?? new StateEnvelopeOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.CompressionThresholdBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxDecodedBytes, 1);
    }

    /// <summary>Gets or sets the upgraders applied to values stored at an older schema version (<c>AddStateUpgrades</c>).</summary>
    internal StateUpgrades? Upgrades { get; set; }

    /// <summary>Gets the serializer in use.</summary>
    public IStateSerializer Serializer => _serializer;

    /// <summary>Serializes <paramref name="value"/> into an envelope.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="value">The value.</param>
    /// <returns>The envelope bytes.</returns>
    public byte[] Encode<T>(T value)
    {
        // One buffer per thread, kept between calls: serializing allocates nothing once it has grown to the state's
        // size. Taken out while in use, so a serializer that encodes again on this thread gets a buffer of its own.
        var buffer = t_buffer ?? new ArrayBufferWriter<byte>(1024);
        t_buffer = null;
        try
        {
            return EncodeInto(buffer, value);
        }
        finally
        {
            buffer.ResetWrittenCount();
            if (buffer.Capacity <= MaxRetainedBufferBytes)
            {
                t_buffer = buffer;
            }
        }
    }

    private byte[] EncodeInto<T>(ArrayBufferWriter<byte> buffer, T value)
    {
        _serializer.Serialize(buffer, value);
        var payload = buffer.WrittenSpan;
        if (payload.Length > _options.MaxDecodedBytes)
        {
            // Checked on the plain size: a value that compresses well would pass the store's limit and then be refused
            // (or inflate to any size) when read back.
            throw new StateValueTooLargeException(Origin, "Encode", "(the value being encoded)", payload.Length, _options.MaxDecodedBytes);
        }

        var compression = StateCompression.None;
        byte[]? compressed = null;
        var compressedLength = 0;
        if (_options.Compression != StateCompression.None && payload.Length >= _options.CompressionThresholdBytes && payload.Length > 0)
        {
            (compressed, compressedLength) = Compress(payload, _options.Compression);
            if (compressedLength < payload.Length)
            {
                compression = _options.Compression;
                payload = compressed.AsSpan(0, compressedLength);
            }
        }

        var schema = StateTypeVersion<T>.Current;
        var headerSize = schema > 1 ? HeaderSize + SchemaBytes : HeaderSize;
        var result = new byte[headerSize + payload.Length];
        result[0] = Marker;
        result[1] = schema > 1 ? EnvelopeVersionWithSchema : EnvelopeVersion;
        result[2] = _serializer.FormatId;
        result[3] = (byte)compression;
        if (schema > 1)
        {
            BinaryPrimitives.WriteInt32LittleEndian(result.AsSpan(HeaderSize), schema);
        }

        payload.CopyTo(result.AsSpan(headerSize));
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(4), Crc32C.Compute(result.AsSpan(0, 4), result.AsSpan(HeaderSize)));
        if (compressed is not null)
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }

        return result;
    }

    /// <summary>Checks an envelope and deserializes its value.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="envelope">The bytes produced by <see cref="Encode{T}"/>.</param>
    /// <param name="key">The key the bytes belong to, for the error message.</param>
    /// <returns>The value.</returns>
    /// <exception cref="StateCorruptedException">The bytes are damaged, truncated, or were written in another format.</exception>
    public T? Decode<T>(ReadOnlySpan<byte> envelope, string? key = null)
    {
        if (envelope.Length < HeaderSize || envelope[0] != Marker)
        {
            throw Corrupt(key, $"not a StateKit envelope ({envelope.Length} bytes, no 0xA7 marker)");
        }

        if (envelope[1] is not (EnvelopeVersion or EnvelopeVersionWithSchema))
        {
            throw Corrupt(key, $"envelope version {envelope[1]} is not supported by this StateKit version");
        }

        var payload = envelope[HeaderSize..];
        if (BinaryPrimitives.ReadUInt32LittleEndian(envelope[4..]) != Crc32C.Compute(envelope[..4], payload))
        {
            throw Corrupt(key, "checksum mismatch");
        }

        var schema = 1;
        if (envelope[1] == EnvelopeVersionWithSchema)
        {
            schema = payload.Length >= SchemaBytes ? BinaryPrimitives.ReadInt32LittleEndian(payload) : 0;
            if (schema < 2)
            {
                throw Corrupt(key, $"schema version {schema} in a version-2 envelope");
            }

            payload = payload[SchemaBytes..];
        }

        if (envelope[2] != _serializer.FormatId)
        {
            throw Corrupt(key, $"written with serializer format {envelope[2]}, but this codec reads format {_serializer.FormatId}");
        }

        var compression = (StateCompression)envelope[3];
        byte[]? rented = null;
        try
        {
            if (compression != StateCompression.None)
            {
                (rented, var length) = Decompress(payload, compression, key);
                payload = rented.AsSpan(0, length);
            }

            return schema == StateTypeVersion<T>.Current || StateTypeVersion<T>.IsDocument
                ? _serializer.Deserialize<T>(payload)
                : Upgrade<T>(payload, schema, key);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or NotSupportedException or InvalidDataException)
        {
            throw new StateCorruptedException(Origin, "Decode", key, $"the payload does not deserialize as {typeof(T).Name}: {ex.Message}", innerException: ex);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Reads a value stored at schema version <paramref name="schema"/> as <typeparamref name="T"/>, through the upgraders.</summary>
    private T? Upgrade<T>(ReadOnlySpan<byte> payload, int schema, string? key)
    {
        var current = StateTypeVersion<T>.Current;
        if (schema > current)
        {
            throw new StateTypeVersionException(key, typeof(T).Name, schema, current, "it was written by a newer version of the application; run that version to read it");
        }

        try
        {
            return (Upgrades ?? StateUpgrades.None).Upgrade<T>(_serializer, payload.ToArray(), schema, key);
        }
        catch (Exception ex) when (ex is not (StateStoreException or System.Text.Json.JsonException or OutOfMemoryException))
        {
            throw new StateTypeVersionException(key, typeof(T).Name, schema, current, $"an upgrader failed: {ex.Message}", ex);
        }
    }

    private static (byte[] Buffer, int Length) Compress(ReadOnlySpan<byte> payload, StateCompression compression)
    {
        if (compression == StateCompression.Brotli)
        {
            var rented = ArrayPool<byte>.Shared.Rent(4 + BrotliEncoder.GetMaxCompressedLength(payload.Length));
            BinaryPrimitives.WriteInt32LittleEndian(rented, payload.Length);
            if (!BrotliEncoder.TryCompress(payload, rented.AsSpan(4), out var written, quality: 1, window: 22))
            {
                throw new InvalidOperationException("Brotli compression failed to fit its documented maximum length.");
            }

            return (rented, 4 + written);
        }

        using var output = new MemoryStream(payload.Length / 2 + 16);
        output.Write(stackalloc byte[4]);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(payload);
        }

        var result = ArrayPool<byte>.Shared.Rent((int)output.Length);
        output.Position = 0;
        output.ReadExactly(result, 0, (int)output.Length);
        BinaryPrimitives.WriteInt32LittleEndian(result, payload.Length);
        return (result, (int)output.Length);
    }

    private (byte[] Buffer, int Length) Decompress(ReadOnlySpan<byte> payload, StateCompression compression, string? key)
    {
        if (payload.Length < 4)
        {
            throw Corrupt(key, "compressed payload is shorter than its length prefix");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(payload);
        if (length < 0 || length > _options.MaxDecodedBytes)
        {
            throw Corrupt(key, $"compressed payload claims {length} bytes, over the limit of {_options.MaxDecodedBytes}");
        }

        // The header's length is a claim, checked against the limit but never trusted for an allocation: the buffer starts
        // near what the compressed bytes can plausibly make and grows while inflating, up to the claim.
        var rented = ArrayPool<byte>.Shared.Rent(Math.Max(1, (int)Math.Min(length, Math.Max(64 * 1024, (long)payload.Length * 8))));
        var ok = false;
        try
        {
            var written = 0;
            switch (compression)
            {
                case StateCompression.Brotli:
                {
                    var decoder = new BrotliDecoder(); // not a using variable: a readonly copy would lose the stream's state
                    try
                    {
                        var source = payload[4..];
                        while (true)
                        {
                            var status = decoder.Decompress(source, rented.AsSpan(written), out var consumed, out var produced);
                            source = source[consumed..];
                            written += produced;
                            if (status == System.Buffers.OperationStatus.Done)
                            {
                                ok = written == length && source.IsEmpty;
                                break;
                            }

                            if (status != System.Buffers.OperationStatus.DestinationTooSmall || !Grow(ref rented, written, length))
                            {
                                break; // invalid data, cut short, or more than it claimed
                            }
                        }
                    }
                    finally
                    {
                        decoder.Dispose();
                    }

                    break;
                }

                case StateCompression.GZip:
                    using (var input = new MemoryStream(payload[4..].ToArray()))
                    using (var gzip = new GZipStream(input, CompressionMode.Decompress))
                    {
                        while (true)
                        {
                            var read = gzip.Read(rented.AsSpan(written));
                            written += read;
                            if (read == 0)
                            {
                                ok = written == length;
                                break;
                            }

                            if (written == rented.Length && !Grow(ref rented, written, length))
                            {
                                ok = written == length && gzip.Read(stackalloc byte[1]) == 0;
                                break;
                            }
                        }
                    }

                    break;
                default:
                    throw Corrupt(key, $"unknown compression {(byte)compression}");
            }

            if (!ok)
            {
                throw Corrupt(key, $"{compression} payload does not inflate to its declared {length} bytes");
            }

            return (rented, length);
        }
        finally
        {
            if (!ok)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Doubles a decode buffer (keeping its <paramref name="used"/> bytes), never past <paramref name="limit"/>; false when it is already there.</summary>
    private static bool Grow(ref byte[] buffer, int used, int limit)
    {
        if (buffer.Length >= limit)
        {
            return false;
        }

        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit, (long)buffer.Length * 2));
        buffer.AsSpan(0, used).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = larger;
        return true;
    }

    private static StateCorruptedException Corrupt(string? key, string detail) => new(Origin, "Decode", key, detail);
}
