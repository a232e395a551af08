namespace StateKit.Internal;

/// <summary>
/// Async per-key locks for decorators that must order their own work on a key (fallback chain, write-behind): 64
/// stripes by the key's hash. Several keys are locked in ascending stripe order, so two holders of overlapping keys never
/// deadlock; the returned holder releases them in reverse order.
/// </summary>
internal sealed class KeyLocks
{
    private const int Stripes = 64;
    private readonly SemaphoreSlim[] _stripes = Enumerable.Range(0, Stripes).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    /// <summary>Locks one key.</summary>
    public async ValueTask<Held> LockAsync(string key, CancellationToken cancellationToken)
    {
        var stripe = StripeOf(key);
        await _stripes[stripe].WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Held(this, stripe, null, 1);
    }

    /// <summary>Locks every key of <paramref name="keys"/> (null keys are skipped: the store refuses them).</summary>
    public async ValueTask<Held> LockAsync(IEnumerable<string?> keys, CancellationToken cancellationToken)
    {
        var stripes = keys.OfType<string>().Select(StripeOf).Distinct().Order().ToArray();
        var taken = 0;
        try
        {
            for (; taken < stripes.Length; taken++)
            {
                await _stripes[stripes[taken]].WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            new Held(this, 0, stripes, taken).Dispose();
            throw;
        }

        return new Held(this, 0, stripes, taken);
    }

    private static int StripeOf(string key) => (StringComparer.Ordinal.GetHashCode(key) & int.MaxValue) % Stripes;

    /// <summary>The locks taken; disposing releases them, the last taken first.</summary>
    public readonly struct Held(KeyLocks owner, int single, int[]? stripes, int count) : IDisposable
    {
        public void Dispose()
        {
            for (var i = count - 1; i >= 0; i--)
            {
                owner._stripes[stripes is null ? single : stripes[i]].Release();
            }
        }
    }
}
