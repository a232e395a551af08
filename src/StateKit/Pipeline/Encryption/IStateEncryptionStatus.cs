namespace StateKit;

/// <summary>
/// Encryption at rest of a store (<c>UseEncryption</c>): <c>store.GetService&lt;IStateEncryptionStatus&gt;()</c>,
/// <see langword="null"/> when the pipeline has none.
/// </summary>
public interface IStateEncryptionStatus
{
    /// <summary>Gets the id of the key new writes use.</summary>
    string CurrentKeyId { get; }

    /// <summary>
    /// Re-encrypts, with the current key, every value under <paramref name="prefix"/> that another key (or none, with
    /// <see cref="StateEncryptionOptions.ReadUnencrypted"/>) protects, while the application keeps running: each value is
    /// rewritten only if it has not changed since it was read (a value written meanwhile already uses the current key).
    /// The value's version goes up by one and its expiry stays. Safe to stop and run again: values already under the
    /// current key are skipped. List items are not rewritten (a list cannot be replaced atomically): keep a retired key
    /// while lists written with it live.
    /// </summary>
    /// <param name="prefix">The key prefix; empty for the whole store.</param>
    /// <param name="progress">Told the counts every 100 keys and at the end.</param>
    /// <param name="cancellationToken">Stops the pass; what was rewritten stays rewritten.</param>
    /// <returns>How many keys were read and rewritten.</returns>
    ValueTask<StateRewrapProgress> RewrapAsync(string prefix = "", IProgress<StateRewrapProgress>? progress = null, CancellationToken cancellationToken = default);
}

/// <summary>The progress of <see cref="IStateEncryptionStatus.RewrapAsync"/>.</summary>
/// <param name="Scanned">Keys read so far.</param>
/// <param name="Rewrapped">Values re-encrypted with the current key so far.</param>
public readonly record struct StateRewrapProgress(long Scanned, long Rewrapped);
