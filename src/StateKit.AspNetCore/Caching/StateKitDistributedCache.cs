using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Distributed;
using StateKit.Adapters;

namespace StateKit.AspNetCore.Internal;

/// <summary>
/// <see cref="IDistributedCache"/> on an <see cref="IStateStore"/>, with the expiration rules of
/// <c>MemoryDistributedCache</c>: a relative expiration wins over an absolute one; a sliding entry lives while it is read
/// or refreshed within its window, never past its absolute expiration; an entry set with an absolute expiration already
/// past is not stored (and replaces, so removes, an older value). Each entry is stored with the store's time to live, so
/// an expired entry is never returned, on any store. Value layout: format byte, absolute expiration and sliding window
/// (Unix milliseconds and milliseconds, 0 = none), then the value. It is also an <see cref="IBufferDistributedCache"/>, so
/// HybridCache reads into its own buffers and writes from them instead of allocating an array per call.
/// </summary>
internal sealed class StateKitDistributedCache : IBufferDistributedCache
{
    private const byte Format = 1;
    private const int HeaderLength = 17;
    private const int MaxSegmentLength = 256;

    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly string _prefix;

    public StateKitDistributedCache(IStateStore store, TimeProvider time, StateKitDistributedCacheOptions options)
    {
        _store = store;
        _time = time;
        _prefix = options.KeyPrefix;
    }

    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default) =>
        await ReadAsync(key, token).ConfigureAwait(false) is { } value ? value.ToArray() : null;

    public bool TryGet(string key, IBufferWriter<byte> destination) => TryGetAsync(key, destination).AsTask().GetAwaiter().GetResult();

    public async ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (await ReadAsync(key, token).ConfigureAwait(false) is not { } value)
        {
            return false;
        }

        destination.Write(value.Span);
        return true;
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => SetAsync(key, value, options).GetAwaiter().GetResult();

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        return WriteAsync(key, new ReadOnlySequence<byte>(value), options, token).AsTask();
    }

    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options) => SetAsync(key, value, options).AsTask().GetAwaiter().GetResult();

    public ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        WriteAsync(key, value, options, token);

    /// <summary>The value of a live entry (its sliding window restarted), or <see langword="null"/>.</summary>
    private async ValueTask<ReadOnlyMemory<byte>?> ReadAsync(string key, CancellationToken token)
    {
        var storeKey = StoreKey(key);
        if (await _store.GetAsync(storeKey, token).ConfigureAwait(false) is not { } entry)
        {
            return null;
        }

        var (absolute, sliding) = ReadHeader(entry, storeKey);
        if (!await SlideAsync(storeKey, absolute, sliding, token).ConfigureAwait(false))
        {
            return null;
        }

        return entry.Value[HeaderLength..];
    }

    private async ValueTask WriteAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(options);
        var storeKey = StoreKey(key);
        var now = _time.GetUtcNow();
        var absolute = AbsoluteExpiration(now, options);
        var sliding = options.SlidingExpiration;
        var ttl = TimeToLive(now, absolute, sliding);
        if (ttl is { } t && t <= TimeSpan.Zero)
        {
            await _store.DeleteAsync(storeKey, cancellationToken: token).ConfigureAwait(false);
            return;
        }

        var buffer = new byte[HeaderLength + checked((int)value.Length)];
        buffer[0] = Format;
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(1), absolute?.ToUnixTimeMilliseconds() ?? 0);
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(9), sliding is { } s ? (long)Math.Ceiling(s.TotalMilliseconds) : 0);
        value.CopyTo(buffer.AsSpan(HeaderLength));
        await _store.SetAsync(storeKey, buffer, new StateWriteOptions(null, ttl ?? Timeout.InfiniteTimeSpan), token).ConfigureAwait(false);
    }

    public void Refresh(string key) => RefreshAsync(key).GetAwaiter().GetResult();

    public async Task RefreshAsync(string key, CancellationToken token = default)
    {
        var storeKey = StoreKey(key);
        if (await _store.GetAsync(storeKey, token).ConfigureAwait(false) is { } entry)
        {
            var (absolute, sliding) = ReadHeader(entry, storeKey);
            await SlideAsync(storeKey, absolute, sliding, token).ConfigureAwait(false);
        }
    }

    public void Remove(string key) => RemoveAsync(key).GetAwaiter().GetResult();

    public async Task RemoveAsync(string key, CancellationToken token = default) =>
        await _store.DeleteAsync(StoreKey(key), cancellationToken: token).ConfigureAwait(false);

    /// <summary>
    /// The sooner of the absolute and the relative expiration (as <c>MemoryDistributedCache</c>); an absolute expiration
    /// already past is refused as RedisCache and SqlServerCache refuse it.
    /// </summary>
    private static DateTimeOffset? AbsoluteExpiration(DateTimeOffset now, DistributedCacheEntryOptions options)
    {
        if (options.AbsoluteExpiration is { } at && at <= now)
        {
            throw new ArgumentOutOfRangeException(nameof(options.AbsoluteExpiration), at, "The absolute expiration value must be in the future.");
        }

        DateTimeOffset? relative = options.AbsoluteExpirationRelativeToNow is { } r ? now + r : null;
        return options.AbsoluteExpiration is { } absolute && (relative is null || absolute < relative) ? absolute : relative;
    }

    private static TimeSpan? TimeToLive(DateTimeOffset now, DateTimeOffset? absolute, TimeSpan? sliding) =>
        (absolute, sliding) switch
        {
            ({ } a, { } s) => a - now < s ? a - now : s,
            ({ } a, null) => a - now,
            (null, { } s) => s,
            _ => null,
        };

    private (DateTimeOffset? Absolute, TimeSpan? Sliding) ReadHeader(StateEntry entry, string storeKey)
    {
        var span = entry.Value.Span;
        if (span.Length < HeaderLength || span[0] != Format)
        {
            throw new StateCorruptedException(_store.Name, "cache read", storeKey, "the entry is not a StateKit distributed-cache entry");
        }

        var absolute = BinaryPrimitives.ReadInt64LittleEndian(span[1..]);
        var sliding = BinaryPrimitives.ReadInt64LittleEndian(span[9..]);
        return (absolute == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(absolute), sliding == 0 ? null : TimeSpan.FromMilliseconds(sliding));
    }

    /// <summary>Restarts a sliding entry's window (capped by its absolute expiration); false when the entry is gone.</summary>
    private async ValueTask<bool> SlideAsync(string storeKey, DateTimeOffset? absolute, TimeSpan? sliding, CancellationToken token)
    {
        if (sliding is null)
        {
            return true;
        }

        var ttl = TimeToLive(_time.GetUtcNow(), absolute, sliding)!.Value;
        return ttl > TimeSpan.Zero && await _store.TouchAsync(storeKey, ttl, token).ConfigureAwait(false);
    }

    private string StoreKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var segment = StateKeys.Segment(key);
        if (segment.Length > MaxSegmentLength)
        {
            // A long cache key (any length is allowed by IDistributedCache) becomes its SHA-256, so it fits every store.
            segment = "#" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        }

        return _prefix + segment;
    }
}
