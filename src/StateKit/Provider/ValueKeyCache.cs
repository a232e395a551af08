using System.Runtime.CompilerServices;

namespace StateKit.Internal;

/// <summary>
/// Remembers the store keys of recent (scope, key) pairs, so a repeated read of the same value with the same scope and
/// key instances builds no string: a direct-mapped table of 1,024 slots matched by reference, never by content (a miss
/// costs one concatenation, as without the table). Each slot is an immutable object replaced whole, so a reader never
/// sees one pair's key with another pair's store key.
/// </summary>
internal sealed class ValueKeyCache
{
    private const int Size = 1024;
    private readonly Slot?[] _slots = new Slot?[Size];

    public string Get(StateScope scope, string key)
    {
        var prefix = scope.StorePrefix;
        var index = (RuntimeHelpers.GetHashCode(prefix) ^ RuntimeHelpers.GetHashCode(key)) & (Size - 1);
        var slot = _slots[index];
        if (slot is not null && ReferenceEquals(slot.Prefix, prefix) && ReferenceEquals(slot.Key, key))
        {
            return slot.StoreKey;
        }

        var storeKey = ScopeKeys.Value(scope, key);
        _slots[index] = new Slot(prefix, key, storeKey);
        return storeKey;
    }

    private sealed record Slot(string Prefix, string Key, string StoreKey);
}
