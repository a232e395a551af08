using System.Buffers;

namespace StateKit.Serialization;

/// <summary>Turns typed state into bytes and back. The default is <see cref="JsonStateSerializer"/>.</summary>
public interface IStateSerializer
{
    /// <summary>Gets the format id written into every envelope (1 = JSON). Ids 0–63 are reserved for StateKit.</summary>
    byte FormatId { get; }

    /// <summary>Writes <paramref name="value"/> to <paramref name="destination"/>.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="destination">Where the bytes go.</param>
    /// <param name="value">The value.</param>
    void Serialize<T>(IBufferWriter<byte> destination, T value);

    /// <summary>Reads a value written by <see cref="Serialize{T}"/>.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="source">The bytes.</param>
    /// <returns>The value.</returns>
    T? Deserialize<T>(ReadOnlySpan<byte> source);
}
