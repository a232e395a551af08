using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace StateKit;

/// <summary>
/// Leases kept in a state store (<see cref="IStateLeaseManager"/>): one entry per resource, <c>leases/{resource}</c>,
/// holding the current grant's holder id and expiry, changed only by conditional writes. The entry is never deleted (a
/// release clears its holder), so its version only grows, and a grant's fencing token is the version its acquiring
/// write produced: larger than every version before it, hence than every earlier grant's token.
/// </summary>
public sealed class StateLeaseManager : IStateLeaseManager
{
    /// <summary>The key prefix of lease entries.</summary>
    public const string KeyPrefix = "leases/";

    private const byte Marker = 0x4C; // 'L'
    private const byte FormatVersion = 1;
    private static readonly TimeSpan MaxPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MinPoll = TimeSpan.FromMilliseconds(5);
    private readonly IStateStore _store;
    private readonly TimeProvider _time;

    /// <summary>Initializes a new instance of the <see cref="StateLeaseManager"/> class.</summary>
    /// <param name="store">The store the leases are kept in (shared by every instance that takes them). Not owned.</param>
    /// <param name="timeProvider">The clock lease expiry is judged by; the system clock when <see langword="null"/>.</param>
    public StateLeaseManager(IStateStore store, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store.GetService<IWriteBehindStatus>() is not null)
        {
            throw new ArgumentException($"The '{store.Name}' store acknowledges writes from a local write-behind journal, so another instance's conditional write is not decided against them: leases need a store without write-behind (add a named store for them).", nameof(store));
        }

        _store = store;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public async ValueTask<StateLease?> TryAcquireAsync(string resource, TimeSpan timeToLive, TimeSpan wait = default, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(resource);
        CheckTimeToLive(timeToLive);
        if (wait < TimeSpan.Zero && wait != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(wait), wait, "The wait is zero, positive, or Timeout.InfiniteTimeSpan.");
        }

        var key = KeyPrefix + resource;
        var waited = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            var record = entry is null ? default : Decode(entry, resource);
            if (entry is null || record.Holder.Length == 0 || record.ExpiresAt <= now)
            {
                var holder = NewHolder();
                var expiresAt = now + timeToLive;
                try
                {
                    var version = await _store.SetAsync(key, Encode(holder, expiresAt), new StateWriteOptions(entry?.Version ?? 0), cancellationToken).ConfigureAwait(false);
                    return new StateLease(this, resource, holder, version, expiresAt);
                }
                catch (StateConflictException)
                {
                    continue; // another caller took it (or renewed) first: look again
                }
            }

            var left = wait == Timeout.InfiniteTimeSpan ? MaxPoll : wait - waited.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            var untilExpiry = record.ExpiresAt - now;
            await Task.Delay(Clamp(untilExpiry < left ? untilExpiry : left), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<T> RunAsync<T>(string resource, TimeSpan timeToLive, Func<StateLease, CancellationToken, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var lease = (await TryAcquireAsync(resource, timeToLive, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false))!;
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var stopRenewing = new CancellationTokenSource();
        Exception? renewalFailure = null;
        var wasLost = 0;
        var renewing = Task.Run(
            async () =>
            {
                while (!stopRenewing.IsCancellationRequested)
                {
                    try
                    {
                        await Task.Delay(timeToLive / 3, stopRenewing.Token).ConfigureAwait(false);
                        if (await lease.RenewAsync(timeToLive, stopRenewing.Token).ConfigureAwait(false))
                        {
                            continue;
                        }
                    }
                    catch (OperationCanceledException) when (stopRenewing.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (StateStoreException ex)
                    {
                        renewalFailure = ex;
                    }

                    Volatile.Write(ref wasLost, 1);
                    await lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            },
            CancellationToken.None);
        try
        {
            var result = await work(lease, lost.Token).ConfigureAwait(false);
            return Volatile.Read(ref wasLost) == 0 ? result : throw new StateLeaseLostException(_store.Name, resource, lease.FencingToken, renewalFailure);
        }
        catch (OperationCanceledException) when (Volatile.Read(ref wasLost) == 1 && !cancellationToken.IsCancellationRequested)
        {
            throw new StateLeaseLostException(_store.Name, resource, lease.FencingToken, renewalFailure);
        }
        finally
        {
            await stopRenewing.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
            if (Volatile.Read(ref wasLost) == 0)
            {
                try
                {
                    await lease.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (StateStoreException)
                {
                    // It expires by itself; the next holder's token is larger either way.
                }
            }
        }
    }

    internal async ValueTask<bool> RenewAsync(StateLease lease, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        CheckTimeToLive(timeToLive);
        var expiresAt = _time.GetUtcNow() + timeToLive;
        if (!await ChangeAsync(lease, Encode(lease.Holder, expiresAt), cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        lease.ExpiresAt = expiresAt;
        return true;
    }

    internal async ValueTask<bool> ReleaseAsync(StateLease lease, CancellationToken cancellationToken)
    {
        var held = await ChangeAsync(lease, Encode(string.Empty, DateTimeOffset.UnixEpoch), cancellationToken).ConfigureAwait(false);
        lease.IsReleased = true;
        return held;
    }

    /// <summary>Writes <paramref name="value"/> over the lease entry if <paramref name="lease"/> still holds it (and has not expired).</summary>
    private async ValueTask<bool> ChangeAsync(StateLease lease, byte[] value, CancellationToken cancellationToken)
    {
        if (lease.IsReleased)
        {
            return false;
        }

        var key = KeyPrefix + lease.Resource;
        while (true)
        {
            var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            var record = entry is null ? default : Decode(entry, lease.Resource);
            if (entry is null || record.Holder != lease.Holder || record.ExpiresAt <= _time.GetUtcNow())
            {
                lease.IsReleased = true; // expired, taken or released: never write over another grant
                return false;
            }

            try
            {
                await _store.SetAsync(key, value, StateWriteOptions.IfVersion(entry.Version), cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (StateConflictException)
            {
                // Changed since read (taken over after expiry, or a renewal of ours from another call): look again.
            }
        }
    }

    private static void CheckTimeToLive(TimeSpan timeToLive)
    {
        if (timeToLive <= TimeSpan.Zero || timeToLive > TimeSpan.FromDays(365))
        {
            throw new ArgumentOutOfRangeException(nameof(timeToLive), timeToLive, "A lease's time to live is positive and at most a year.");
        }
    }

    private static TimeSpan Clamp(TimeSpan delay) => delay < MinPoll ? MinPoll : delay > MaxPoll ? MaxPoll : delay;

    private static string NewHolder() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(12));

    private static byte[] Encode(string holder, DateTimeOffset expiresAt)
    {
        var bytes = new byte[10 + Encoding.ASCII.GetByteCount(holder)];
        bytes[0] = Marker;
        bytes[1] = FormatVersion;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(2), expiresAt.ToUnixTimeMilliseconds());
        Encoding.ASCII.GetBytes(holder, bytes.AsSpan(10));
        return bytes;
    }

    private (string Holder, DateTimeOffset ExpiresAt) Decode(StateEntry entry, string resource)
    {
        var bytes = entry.Value.Span;
        if (bytes.Length < 10 || bytes[0] != Marker || bytes[1] != FormatVersion)
        {
            throw new StateCorruptedException(_store.Name, "lease read", entry.Key, $"the lease entry of '{resource}' is not a StateKit lease");
        }

        return (Encoding.ASCII.GetString(bytes[10..]), DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(bytes[2..])));
    }
}
