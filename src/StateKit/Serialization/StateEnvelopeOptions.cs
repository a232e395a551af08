using StateKit.Internal;
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

    /// <summary>
    /// Gets or sets the largest plain (uncompressed) payload: an encode of a larger value is refused with
    /// <see cref="StateValueTooLargeException"/> before it is compressed, and a decode that would inflate past it is
    /// treated as corrupt. Raise it together with <see cref="StateStoreOptions.MaxValueBytes"/>.
    /// </summary>
    /// <value>The default value is 16 MiB, the stores' default value limit.</value>
    [Range(1, int.MaxValue)]
    public int MaxDecodedBytes { get; set; } = StateKitDefaults.MaxValueBytes;
}
