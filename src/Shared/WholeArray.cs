using System.Runtime.InteropServices;

namespace StateKit;

/// <summary>Hands a value to a driver without copying it when the caller's memory is a whole array.</summary>
/// <remarks>Source shared by the server stores (linked, compiled into each, internal). The driver reads the
/// array before the store's call returns, so the caller may reuse its buffer afterwards.</remarks>
internal static class WholeArray
{
    /// <summary>Returns the array behind <paramref name="value"/> when it spans all of it, else a copy.</summary>
    /// <param name="value">The value.</param>
    /// <returns>An array with exactly the value's bytes.</returns>
    public static byte[] Of(ReadOnlyMemory<byte> value) =>
        MemoryMarshal.TryGetArray(value, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : value.ToArray();
}
