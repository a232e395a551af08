using Microsoft.Extensions.Logging;

namespace StateKit;

/// <content>Moving values to the current key: <see cref="RewrapAsync"/>.</content>
internal sealed partial class EncryptingStateStore
{
    private const int ProgressEvery = 100;

    /// <inheritdoc />
    public async ValueTask<StateRewrapProgress> RewrapAsync(string prefix = "", IProgress<StateRewrapProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        long scanned = 0, rewrapped = 0;
        await foreach (var key in InnerStore.ListKeysAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            scanned++;
            if (await RewrapOneAsync(key, cancellationToken).ConfigureAwait(false))
            {
                rewrapped++;
            }

            if (scanned % ProgressEvery == 0)
            {
                progress?.Report(new(scanned, rewrapped));
            }
        }

        var result = new StateRewrapProgress(scanned, rewrapped);
        progress?.Report(result);
        Log.Rewrapped(_logger, Name, scanned, rewrapped, CurrentKeyId);
        return result;
    }

    /// <summary>Rewrites one value under the current key unless it already is, or changes meanwhile (then the change used it).</summary>
    private async ValueTask<bool> RewrapOneAsync(string key, CancellationToken cancellationToken)
    {
        var stored = await InnerStore.GetAsync(key, cancellationToken).ConfigureAwait(false);
        var current = _ring.CurrentKey;
        if (stored is null || StateCipher.KeyIdOf(stored.Value.Span) == current.Id)
        {
            return false;
        }

        var plaintext = Open(key, stored.Value, false, "rewrap");

        try
        {
            await InnerStore.SetAsync(key, StateCipher.Encrypt(current, key, false, plaintext.Span), new StateWriteOptions(stored.Version, StateTimeToLive.KeepCurrent), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (StateConflictException)
        {
            return false; // written or deleted meanwhile: a write through this layer used the current key
        }
    }

    private static partial class Log
    {
        [LoggerMessage(120, LogLevel.Information, "StateKit re-encrypted {Rewrapped} of {Scanned} values of the '{Store}' store with key '{KeyId}'.")]
        public static partial void Rewrapped(ILogger logger, string store, long scanned, long rewrapped, string keyId);
    }
}
