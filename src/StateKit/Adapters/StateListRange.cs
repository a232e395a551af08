namespace StateKit.Adapters;

/// <summary>Resolves Redis-style list indices (negative counts from the end) against a list length.</summary>
public static class StateListRange
{
    /// <summary>Turns <paramref name="start"/>..<paramref name="stop"/> (inclusive, possibly negative) into an offset and a count.</summary>
    /// <param name="start">The first index.</param>
    /// <param name="stop">The last index, inclusive.</param>
    /// <param name="length">The length of the list.</param>
    /// <returns>The zero-based offset and the number of items; the count is 0 for an empty range.</returns>
    public static (long Offset, long Count) Resolve(long start, long stop, long length)
    {
        if (start < 0)
        {
            start = Math.Max(0, length + start);
        }

        if (stop < 0)
        {
            stop = length + stop;
        }

        if (stop >= length)
        {
            stop = length - 1;
        }

        return start > stop || start >= length ? (0, 0) : (start, stop - start + 1);
    }
}
