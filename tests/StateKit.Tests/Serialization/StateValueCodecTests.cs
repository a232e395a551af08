using System.Text.Json.Serialization;
using NUnit.Framework;
using StateKit.Serialization;

namespace StateKit.Tests.Serialization;

public sealed partial class StateValueCodecTests
{
    [Test]
    public void Decode_AfterEncode_ReturnsEqualValue()
    {
        var codec = new StateValueCodec();
        var value = new ChatState("s1", ["hello", "world"], 3);
        var decoded = codec.Decode<ChatState>(codec.Encode(value));
        Assert.That(decoded!.Id, Is.EqualTo("s1"));
        Assert.That(decoded.Messages, Is.EqualTo(new[] { "hello", "world" }));
        Assert.That(decoded.Turns, Is.EqualTo(3));
    }

    [TestCase(StateCompression.Brotli)]
    [TestCase(StateCompression.GZip)]
    public void Encode_LargeCompressiblePayload_IsCompressedAndRoundTrips(StateCompression compression)
    {
        var codec = new StateValueCodec(options: new StateEnvelopeOptions { Compression = compression, CompressionThresholdBytes = 1024 });
        var value = new ChatState("big", Enumerable.Repeat("the same sentence again and again", 2000).ToArray(), 1);
        var plainLength = new StateValueCodec(options: new StateEnvelopeOptions { Compression = StateCompression.None }).Encode(value).Length;
        var encoded = codec.Encode(value);
        Assert.That(encoded[3], Is.EqualTo((byte)compression));
        Assert.That(encoded.Length, Is.LessThan(plainLength / 5));
        Assert.That(codec.Decode<ChatState>(encoded)!.Messages, Has.Length.EqualTo(2000));
    }

    [Test]
    public void Encode_PayloadBelowThreshold_IsNotCompressed()
    {
        var encoded = new StateValueCodec().Encode(new ChatState("small", ["hi"], 1));
        Assert.That(encoded[3], Is.EqualTo((byte)StateCompression.None));
        Assert.That(encoded[0], Is.EqualTo(0xA7));
        Assert.That(encoded[2], Is.EqualTo(JsonStateSerializer.JsonFormatId));
    }

    [Test]
    public void Decode_AnySingleFlippedByte_ThrowsCorruptNeverGarbage()
    {
        var codec = new StateValueCodec(options: new StateEnvelopeOptions { CompressionThresholdBytes = 64 });
        foreach (var value in new[] { new ChatState("x", ["short"], 1), new ChatState("y", Enumerable.Repeat("compressible text", 50).ToArray(), 2) })
        {
            var encoded = codec.Encode(value);
            for (var i = 0; i < encoded.Length; i++)
            {
                var damaged = (byte[])encoded.Clone();
                damaged[i] ^= 0x10;
                Assert.That(() => codec.Decode<ChatState>(damaged, "key-1"), Throws.InstanceOf<StateCorruptedException>().With.Property(nameof(StateCorruptedException.Key)).EqualTo("key-1"), $"byte {i}");
            }
        }
    }

    [Test]
    public void Decode_TruncatedOrForeignBytes_ThrowsCorrupt()
    {
        var codec = new StateValueCodec();
        var encoded = codec.Encode(new ChatState("x", ["a"], 1));
        Assert.That(() => codec.Decode<ChatState>(encoded.AsSpan(0, encoded.Length - 1)), Throws.InstanceOf<StateCorruptedException>());
        Assert.That(() => codec.Decode<ChatState>("{\"id\":\"x\"}"u8), Throws.InstanceOf<StateCorruptedException>().With.Message.Contains("not a StateKit envelope"));
        Assert.That(() => codec.Decode<ChatState>([]), Throws.InstanceOf<StateCorruptedException>());
    }

    [Test]
    public void Decode_OtherSerializerFormat_ThrowsCorruptNamingFormat()
    {
        var encoded = new StateValueCodec(new OtherFormatSerializer()).Encode(new ChatState("x", ["a"], 1));
        Assert.That(() => new StateValueCodec().Decode<ChatState>(encoded), Throws.InstanceOf<StateCorruptedException>().With.Message.Contains("format 99"));
    }

    [Test]
    public void Decode_ValidEnvelopeOfWrongShape_ThrowsCorrupt()
    {
        var codec = new StateValueCodec();
        var encoded = codec.Encode("just a string");
        Assert.That(() => codec.Decode<ChatState>(encoded), Throws.InstanceOf<StateCorruptedException>().With.Message.Contains(nameof(ChatState)));
    }

    [Test]
    public void JsonStateSerializer_SourceGeneratedResolver_RoundTrips()
    {
        var codec = new StateValueCodec(new JsonStateSerializer(TestJsonContext.Default));
        var decoded = codec.Decode<ChatState>(codec.Encode(new ChatState("gen", ["a"], 7)));
        Assert.That(decoded!.Turns, Is.EqualTo(7));
    }

    [Test]
    public void Crc32C_KnownVector_MatchesStandard()
    {
        // RFC 3720 / iSCSI test vector: CRC-32C("123456789") = 0xE3069283.
        Assert.That(Crc32C.Compute("123456789"u8), Is.EqualTo(0xE3069283u));
        Assert.That(Crc32C.Compute("1234"u8, "56789"u8), Is.EqualTo(0xE3069283u));
    }

    public sealed record ChatState(string Id, string[] Messages, int Turns);

    [JsonSerializable(typeof(ChatState))]
    internal sealed partial class TestJsonContext : JsonSerializerContext;

    private sealed class OtherFormatSerializer : IStateSerializer
    {
        private readonly JsonStateSerializer _inner = new();

        public byte FormatId => 99;

        public void Serialize<T>(System.Buffers.IBufferWriter<byte> destination, T value) => _inner.Serialize(destination, value);

        public T? Deserialize<T>(ReadOnlySpan<byte> source) => _inner.Deserialize<T>(source);
    }
}
