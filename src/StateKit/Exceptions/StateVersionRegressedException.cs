namespace StateKit;

/// <summary>
/// The store found that its data went back in time: writes it had acknowledged (or that this instance had read) are
/// gone, so versions after them may be issued again for other values. Redis raises it after a failover to a replica
/// that had not received every write, a restart from an older snapshot, or a flush: each bucket of keys keeps a write
/// counter beside the data, and a counter lower than one this instance has seen is the proof. The operation that found
/// it is reported once (later ones proceed from the new state); <see cref="WriteApplied"/> says whether its own write
/// was applied. Anyone holding a version of the affected keys (an ETag, a fencing token, a checkpoint id) should treat
/// it as unverified: re-read, and redo the work that produced the lost writes.
/// </summary>
public sealed class StateVersionRegressedException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateVersionRegressedException"/> class.</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="operation">The operation that found it.</param>
    /// <param name="key">The key of that operation, if any.</param>
    /// <param name="seen">The highest write count this instance had seen for the key's bucket.</param>
    /// <param name="found">The write count found now.</param>
    /// <param name="writeApplied">Whether the operation's own write was applied (at a version that may repeat an earlier one).</param>
    public StateVersionRegressedException(string storeName, string operation, string? key, long seen, long found, bool writeApplied)
        : base($"{Describe(storeName, operation, key)}: the store's data went back in time (its write counter is {found}, this instance had seen {seen}): acknowledged writes were lost, for example in a failover to a replica that lagged, and versions after them may be issued again for other values. {(writeApplied ? "This write was applied. " : string.Empty)}Re-read what you hold versions of.", storeName, operation, key)
    {
        Seen = seen;
        Found = found;
        WriteApplied = writeApplied;
    }

    /// <summary>Gets the highest write count this instance had seen for the key's bucket.</summary>
    public long Seen { get; }

    /// <summary>Gets the write count found now (lower than <see cref="Seen"/>, or equal for a write, which must raise it).</summary>
    public long Found { get; }

    /// <summary>Gets a value indicating whether the operation's own write was applied.</summary>
    public bool WriteApplied { get; }
}
