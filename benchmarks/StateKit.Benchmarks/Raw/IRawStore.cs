namespace StateKit.Benchmarks.Raw;

/// <summary>
/// The hand-written baseline for a server store: the raw driver running the statements or commands a user would
/// write for the same work (versioned entries with expiry, atomic batches, append-only lists), with the same
/// durability settings as the StateKit store. Safe for concurrent callers.
/// </summary>
internal interface IRawStore : IAsyncDisposable
{
    /// <summary>Reads a value; <see langword="null"/> when missing.</summary>
    ValueTask<byte[]?> GetAsync(string key);

    /// <summary>Writes a value unconditionally and returns its new version.</summary>
    ValueTask<long> SetAsync(string key, byte[] value);

    /// <summary>Writes a value only at version <paramref name="expected"/>; returns the new version, or -1 on a conflict.</summary>
    ValueTask<long> SetIfVersionAsync(string key, byte[] value, long expected);

    /// <summary>Writes every key, all or nothing, in one round trip or transaction.</summary>
    ValueTask SetManyAsync(IReadOnlyList<string> keys, byte[] value);

    /// <summary>Appends one item to a list and returns the list's new length.</summary>
    ValueTask<long> AppendAsync(string key, byte[] item);

    /// <summary>Reads the last <paramref name="count"/> items of a list, oldest first.</summary>
    ValueTask<IReadOnlyList<byte[]>> LastAsync(string key, int count);
}
