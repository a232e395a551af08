using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace StateKit.Internal;

/// <summary>
/// A concurrent map from keys to values that keeps the sum of its values' sizes: the one byte-accounted map of the
/// pipeline's layers (the L1 tier's held entries, write-behind's pending writes, the memory budget's resident entries).
/// The sum changes only with a change that took effect, so it cannot drift under contention (a size added inside a
/// <see cref="ConcurrentDictionary{TKey, TValue}.AddOrUpdate(TKey, Func{TKey, TValue}, Func{TKey, TValue, TValue})"/>
/// factory, which may run and be thrown away several times, can).
/// </summary>
/// <typeparam name="TValue">The value; its size must not change while it is in the map (replace it instead).</typeparam>
/// <param name="sizeOf">The bytes a value counts (0 for values that do not count).</param>
internal sealed class SizedMap<TValue>(Func<TValue, long> sizeOf) : IEnumerable<KeyValuePair<string, TValue>>
    where TValue : class
{
    private readonly ConcurrentDictionary<string, TValue> _map = new(StringComparer.Ordinal);
    private long _bytes;

    /// <summary>Gets the sum of the sizes of the values in the map.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Gets the number of keys.</summary>
    public int Count => _map.Count;

    /// <summary>Gets the keys (a moment's view).</summary>
    public ICollection<string> Keys => _map.Keys;

    /// <summary>Gets the values (a moment's view).</summary>
    public ICollection<TValue> Values => _map.Values;

    /// <summary>Gets the value of <paramref name="key"/>.</summary>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out TValue value) => _map.TryGetValue(key, out value);

    /// <summary>Whether <paramref name="key"/> has a value.</summary>
    public bool ContainsKey(string key) => _map.ContainsKey(key);

    /// <summary>
    /// Sets <paramref name="key"/> to what <paramref name="next"/> makes of its current value (<see langword="null"/> when
    /// absent); returning the current value leaves it. <paramref name="next"/> may run more than once under contention.
    /// </summary>
    /// <returns>The value the key has afterwards.</returns>
    public TValue Set(string key, Func<TValue?, TValue> next)
    {
        while (true)
        {
            if (_map.TryGetValue(key, out var old))
            {
                var value = next(old);
                if (ReferenceEquals(value, old))
                {
                    return old;
                }

                if (_map.TryUpdate(key, value, old))
                {
                    Interlocked.Add(ref _bytes, sizeOf(value) - sizeOf(old));
                    return value;
                }
            }
            else
            {
                var value = next(null);
                if (_map.TryAdd(key, value))
                {
                    Interlocked.Add(ref _bytes, sizeOf(value));
                    return value;
                }
            }
        }
    }

    /// <summary>Replaces the value of <paramref name="key"/> if it is still <paramref name="comparison"/> (by its equality).</summary>
    /// <returns>Whether it was replaced.</returns>
    public bool TryUpdate(string key, TValue value, TValue comparison)
    {
        if (!_map.TryUpdate(key, value, comparison))
        {
            return false;
        }

        Interlocked.Add(ref _bytes, sizeOf(value) - sizeOf(comparison));
        return true;
    }

    /// <summary>Removes <paramref name="key"/> whatever its value.</summary>
    /// <returns>Whether it was there.</returns>
    public bool TryRemove(string key, [MaybeNullWhen(false)] out TValue value)
    {
        if (!_map.TryRemove(key, out value))
        {
            return false;
        }

        Interlocked.Add(ref _bytes, -sizeOf(value));
        return true;
    }

    /// <summary>Removes <paramref name="key"/> if its value is still <paramref name="value"/> (by its equality).</summary>
    /// <returns>Whether it was removed.</returns>
    public bool TryRemove(string key, TValue value)
    {
        if (!_map.TryRemove(new KeyValuePair<string, TValue>(key, value)))
        {
            return false;
        }

        Interlocked.Add(ref _bytes, -sizeOf(value));
        return true;
    }

    /// <summary>Removes every key, one at a time (each removal counted).</summary>
    public void Clear()
    {
        foreach (var key in _map.Keys)
        {
            TryRemove(key, out _);
        }
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, TValue>> GetEnumerator() => _map.GetEnumerator();

    /// <inheritdoc />
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
