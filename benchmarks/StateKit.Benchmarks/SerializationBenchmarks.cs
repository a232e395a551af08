using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using StateKit.Serialization;

namespace StateKit.Benchmarks;

/// <summary>
/// The state envelope (JSON payload, 8-byte header with CRC-32C, optional Brotli) vs plain
/// <see cref="JsonSerializer"/> with the same web options, for a 1 KB and a 64 KB chat state.
/// "Compressed" compresses at any size (threshold 0); by default StateKit compresses only from 8 KB.
/// "MessagePack" is the same envelope around <see cref="MessagePackStateSerializer"/> (untrusted-data mode, the default).
/// The payload sizes are printed by <see cref="SetUp"/> into the run's log.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SerializationBenchmarks
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly StateValueCodec _plain = new(options: new StateEnvelopeOptions { Compression = StateCompression.None });
    private readonly StateValueCodec _compressed = new(options: new StateEnvelopeOptions { Compression = StateCompression.Brotli, CompressionThresholdBytes = 0 });
    private ChatState _state = null!;
    private byte[] _json = [];
    private byte[] _envelope = [];
    private byte[] _compressedEnvelope = [];
    private readonly StateValueCodec _messagePack = new(new MessagePackStateSerializer(), new StateEnvelopeOptions { Compression = StateCompression.None });
    private byte[] _messagePackEnvelope = [];

    /// <summary>Gets or sets the JSON size of the state in bytes.</summary>
    [Params(1024, 64 * 1024)]
    public int StateSize { get; set; } = 1024;

    [GlobalSetup]
    public void SetUp()
    {
        _state = ChatState.OfSize(StateSize);
        _json = JsonSerializer.SerializeToUtf8Bytes(_state, Web);
        _envelope = _plain.Encode(_state);
        _compressedEnvelope = _compressed.Encode(_state);
        _messagePackEnvelope = _messagePack.Encode(_state);
        Console.WriteLine($"// sizes for a {StateSize}-byte state: JSON envelope {_envelope.Length} B, Brotli JSON envelope {_compressedEnvelope.Length} B, MessagePack envelope {_messagePackEnvelope.Length} B");
    }

    [BenchmarkCategory("Serialize"), Benchmark(Baseline = true)]
    public byte[] Json_Serialize() => JsonSerializer.SerializeToUtf8Bytes(_state, Web);

    [BenchmarkCategory("Serialize"), Benchmark]
    public byte[] Envelope_Serialize() => _plain.Encode(_state);

    [BenchmarkCategory("Serialize"), Benchmark]
    public byte[] EnvelopeCompressed_Serialize() => _compressed.Encode(_state);

    [BenchmarkCategory("Serialize"), Benchmark]
    public byte[] MessagePack_Serialize() => _messagePack.Encode(_state);

    [BenchmarkCategory("Deserialize"), Benchmark(Baseline = true)]
    public ChatState? Json_Deserialize() => JsonSerializer.Deserialize<ChatState>(_json, Web);

    [BenchmarkCategory("Deserialize"), Benchmark]
    public ChatState? Envelope_Deserialize() => _plain.Decode<ChatState>(_envelope);

    [BenchmarkCategory("Deserialize"), Benchmark]
    public ChatState? EnvelopeCompressed_Deserialize() => _compressed.Decode<ChatState>(_compressedEnvelope);

    [BenchmarkCategory("Deserialize"), Benchmark]
    public ChatState? MessagePack_Deserialize() => _messagePack.Decode<ChatState>(_messagePackEnvelope);
}
