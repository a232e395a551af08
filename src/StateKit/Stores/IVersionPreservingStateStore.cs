namespace StateKit;

/// <summary>
/// A write that keeps the version an entry already has, for decorators that move entries between stores (spill to
/// disk and back, tiering, migration, restore): a caller that has seen a key at version n never later sees it at a
/// lower version because the entry moved. Found through <see cref="IStateStore.GetService"/>; the memory, file,
/// SQLite, PostgreSQL and Redis stores provide it.
/// </summary>
public interface IVersionPreservingStateStore
{
    /// <summary>
    /// Writes the entry at exactly <paramref name="version"/> with the absolute expiry <paramref name="expiresAt"/>,
    /// unless the store already holds a live entry for the key at that version or a higher one (then nothing changes).
    /// </summary>
    /// <remarks>
    /// An expired entry counts as missing. An expiry that has already passed is written as it is: the entry is then
    /// invisible, and a lower version the store held is gone (superseded by an entry that has since expired). Later
    /// writes continue from <paramref name="version"/>.
    /// </remarks>
    /// <param name="key">The key.</param>
    /// <param name="value">The bytes; the store keeps its own copy.</param>
    /// <param name="version">The version the entry had where it came from; 1 or more.</param>
    /// <param name="expiresAt">The entry's expiry instant, or <see langword="null"/> for none; stored rounded up to the millisecond.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when the entry was written; <see langword="false"/> when the store holds the key at this version or a higher one.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is less than 1.</exception>
    /// <exception cref="InvalidStateKeyException">The key is not valid.</exception>
    /// <exception cref="StateValueTooLargeException">The value exceeds the configured maximum.</exception>
    ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes many entries as <see cref="SetAtVersionAsync"/> writes each (migration, import): the SQL stores in one
    /// transaction, other stores entry by entry, several at a time.
    /// </summary>
    /// <remarks>
    /// Not atomic across entries unless the store says so: after a failure some entries may be written. Writing the
    /// same entries again is harmless (an entry the store holds at that version or a higher one is left alone).
    /// </remarks>
    /// <param name="entries">The entries, each with its key, value, version (1 or more) and expiry.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>For each entry in order, whether it was written.</returns>
    /// <exception cref="InvalidStateKeyException">A key is not valid.</exception>
    /// <exception cref="StateValueTooLargeException">A value exceeds the configured maximum.</exception>
    async ValueTask<IReadOnlyList<bool>> SetManyAtVersionAsync(IReadOnlyList<StateEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return await Task.WhenAll(entries.Select(e => SetAtVersionAsync(e.Key, e.Value, e.Version, e.ExpiresAt, cancellationToken).AsTask())).ConfigureAwait(false);
    }
}
