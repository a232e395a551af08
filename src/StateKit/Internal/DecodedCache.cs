using System.Diagnostics.CodeAnalysis;

namespace StateKit.Internal;

/// <summary>
/// Keeps the decoded value of recently read or written entries of an immutable type, so reading the same bytes again does
/// no decode: a direct-mapped table of 256 slots by key, and a hit only when the stored bytes are exactly the bytes the
/// value was decoded from (compared in full, so a changed, rewritten or damaged entry is always decoded again). Each slot
/// is an immutable object replaced whole.
/// </summary>
/// <typeparam name="T">The decoded type; only for types no caller can change (see <see cref="ImmutableType{T}"/>).</typeparam>
internal sealed class DecodedCache<T>
    where T : class
{
    private const int Size = 256;
    private readonly Slot?[] _slots = new Slot?[Size];

    /// <summary>The value decoded from <paramref name="bytes"/> under <paramref name="key"/>, when the table still has it.</summary>
    public bool TryGet(string key, ReadOnlySpan<byte> bytes, [MaybeNullWhen(false)] out T value)
    {
        var slot = _slots[IndexOf(key)];
        if (slot is not null && string.Equals(slot.Key, key, StringComparison.Ordinal) && slot.Bytes.Span.SequenceEqual(bytes))
        {
            value = slot.Value;
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>Remembers that <paramref name="bytes"/> (which nobody changes afterwards) decode to <paramref name="value"/>.</summary>
    public void Put(string key, ReadOnlyMemory<byte> bytes, T value) => _slots[IndexOf(key)] = new Slot(key, bytes, value);

    private static int IndexOf(string key) => (StringComparer.Ordinal.GetHashCode(key) & int.MaxValue) % Size;

    private sealed record Slot(string Key, ReadOnlyMemory<byte> Bytes, T Value);
}
