namespace StateKit.Serialization;

/// <summary>The in-box compression an envelope may use for large payloads.</summary>
public enum StateCompression : byte
{
    /// <summary>Never compress.</summary>
    None = 0,

    /// <summary>Brotli (<see cref="System.IO.Compression.BrotliEncoder"/>): the best ratio for JSON.</summary>
    Brotli = 1,

    /// <summary>GZip (<see cref="System.IO.Compression.GZipStream"/>).</summary>
    GZip = 2,
}
