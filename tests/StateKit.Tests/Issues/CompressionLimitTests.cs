using System.Buffers.Binary;
using NUnit.Framework;
using StateKit.Serialization;

namespace StateKit.Tests.Issues;

/// <summary>
/// Compression never multiplies memory (issue 30, item 4): the size limit applies to the plain value before it is
/// compressed, the decode limit defaults to the stores' value limit, and a decode grows its buffer while inflating
/// instead of allocating what a header claims.
/// </summary>
public sealed class CompressionLimitTests
{
    [TestCase(StateCompression.Brotli)]
    [TestCase(StateCompression.GZip)]
    public void AValueOverTheLimitBeforeCompression_IsRefused_EvenThoughItCompressesSmall(StateCompression compression)
    {
        var codec = new StateValueCodec(null, new StateEnvelopeOptions { Compression = compression });
        var huge = new string('a', 20 * 1024 * 1024); // 20 MiB of one letter: a few KB once compressed
        var error = Assert.Throws<StateValueTooLargeException>(() => codec.Encode(huge));
        Assert.That(error!.MaxSize, Is.EqualTo(16 * 1024 * 1024), "the default decode limit is the stores' value limit");
    }

    [TestCase(StateCompression.Brotli)]
    [TestCase(StateCompression.GZip)]
    public void LargeCompressibleValues_RoundTrip(StateCompression compression)
    {
        var codec = new StateValueCodec(null, new StateEnvelopeOptions { Compression = compression });
        var text = string.Concat(Enumerable.Range(0, 200_000).Select(i => (i % 97).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var encoded = codec.Encode(text);
        Assert.That(encoded.Length, Is.LessThan(text.Length / 4), "compressed");
        Assert.That(codec.Decode<string>(encoded), Is.EqualTo(text));
    }

    [TestCase(StateCompression.Brotli)]
    [TestCase(StateCompression.GZip)]
    public void AHeaderClaimingHundredsOfMegabytes_IsNotTrusted_ForAnAllocation(StateCompression compression)
    {
        var codec = new StateValueCodec(null, new StateEnvelopeOptions { Compression = compression, MaxDecodedBytes = 300 * 1024 * 1024 });
        var envelope = codec.Encode(new string('b', 64 * 1024)); // compressed
        Assert.That(envelope[3], Is.EqualTo((byte)compression));

        // Claim 255 MiB and re-seal the checksum, as an attacker with write access to the store could.
        BinaryPrimitives.WriteInt32LittleEndian(envelope.AsSpan(StateValueCodec.HeaderSize), 255 * 1024 * 1024);
        BinaryPrimitives.WriteUInt32LittleEndian(envelope.AsSpan(4), StateKit.Serialization.Crc32C.Compute(envelope.AsSpan(0, 4), envelope.AsSpan(StateValueCodec.HeaderSize)));
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<StateCorruptedException>(() => codec.Decode<string>(envelope));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.LessThan(16L * 1024 * 1024), $"allocated {allocated:N0} bytes for a 255 MiB claim");
    }
}
