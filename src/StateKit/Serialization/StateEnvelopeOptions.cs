using System.ComponentModel.DataAnnotations;

namespace StateKit.Serialization;

/// <summary>How <see cref="StateValueCodec"/> wraps serialized state.</summary>
public sealed class StateEnvelopeOptions
{
    /// <summary>Gets or sets the compression used for payloads at or above <see cref="CompressionThresholdBytes"/>.</summary>
    /// <value>The default value is <see cref="StateCompression.Brotli"/>.</value>
    public StateCompression Compression { get; set; } = StateCompression.Brotli;

    /// <summary>Gets or sets the payload size from which compression is tried; smaller payloads are stored as they are.</summary>
    /// <value>The default value is 8,192 bytes.</value>
    [Range(0, int.MaxValue)]
    public int CompressionThresholdBytes { get; set; } = StateKitDefaults.CompressionThresholdBytes;

    /// <summary>Gets or sets the largest payload a decode inflates to; larger claims are treated as corrupt.</summary>
    /// <value>The default value is 256 MiB.</value>
    [Range(1, int.MaxValue)]
    public int MaxDecodedBytes { get; set; } = 256 * 1024 * 1024;
}
