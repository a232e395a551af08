using System.Buffers.Binary;
using StackExchange.Redis;
using StateKit.Adapters;
using StateKit.Redis.Internal;
using StateKit.Serialization;

namespace StateKit.Redis;

/// <content>
/// Lists: a Redis list per key, with its expiry instant in a companion meta key; every list operation is one script
/// over both keys, so an expired list is never read and an append to it starts a new one.
/// </content>
public sealed partial class RedisStateStore
{
    /// <inheritdoc />
    public async ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateAppend(key, items, timeToLive, "ListAppend");
        if (items.Count == 0)
        {
            return await ListLengthAsync(key, cancellationToken).ConfigureAwait(false);
        }

        var now = Now;
        var (newExpiry, newTtl) = Expiry(_guard.ResolveExpiry(timeToLive), now);
        var args = new RedisValue[7 + items.Count];
        args[0] = now;
        args[1] = newExpiry;
        args[2] = newTtl;
        args[3] = StateStoreGuard.KeepsExpiry(timeToLive) ? 0 : 1;
        args[4] = newExpiry;
        args[5] = newTtl;
        args[6] = ChannelSlot;
        for (var i = 0; i < items.Count; i++)
        {
            args[7 + i] = Checked(key, items[i].Span);
        }

        return (long)(await EvalAsync("ListAppend", key, write: true, RedisScripts.ListAppend, ListKeys(key), args, cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListRange");
        var now = Now;

        // A read needs no script: MULTI/EXEC reads the list's expiry, its items and the write counter atomically in one round trip, and
        // the items come back as they are instead of being copied through Lua (1.8× the raw LRANGE time for 20 KB).
        var (expiry, values) = await RunAsync("ListRange", key, write: false, async (db, k) =>
        {
            var bucket = k.Bucket(key);
            var before = SeenCounter(bucket);
            var transaction = db.CreateTransaction();
            var meta = transaction.StringGetAsync(k.Meta(key));
            var range = transaction.ListRangeAsync(k.List(key), start, stop);
            var counter = transaction.StringGetAsync(k.Counter(bucket)); // the bucket's write counter (same hash slot)
            await transaction.ExecuteAsync().ConfigureAwait(false);
            Observe(bucket, key, before, (long)await counter.ConfigureAwait(false), "ListRange", write: false);
            return (await meta.ConfigureAwait(false), await range.ConfigureAwait(false));
        }, cancellationToken).ConfigureAwait(false);
        var meta = (string?)expiry;
        var checksums = meta is not null && meta.StartsWith('c');
        if (checksums)
        {
            meta = meta![1..];
        }

        if (long.TryParse(meta, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var expiresAt) && expiresAt <= now)
        {
            return [];
        }

        var items = new ReadOnlyMemory<byte>[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var stored = (byte[])values[i]! ?? [];
            items[i] = checksums ? Verified(key, stored, i) : stored;
        }

        return items;
    }

    /// <summary>An item as a list created with checksums stores it: its checksum (4 bytes, little-endian), then the item.</summary>
    private static byte[] Checked(string key, ReadOnlySpan<byte> item)
    {
        var stored = new byte[item.Length + sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(stored, Crc32C.Keyed(key, Crc32C.ListItemPosition, item));
        item.CopyTo(stored.AsSpan(sizeof(uint)));
        return stored;
    }

    /// <summary>The item inside <paramref name="stored"/> once its checksum holds.</summary>
    private ReadOnlyMemory<byte> Verified(string key, byte[] stored, int index)
    {
        if (stored.Length < sizeof(uint) || BinaryPrimitives.ReadUInt32LittleEndian(stored) != Crc32C.Keyed(key, Crc32C.ListItemPosition, stored.AsSpan(sizeof(uint))))
        {
            throw new StateCorruptedException(Name, "ListRange", key, $"item {index} of the range read does not match its checksum (damaged, or copied from another list)", _base + "l:" + StateKeys.Printable(key));
        }

        return stored.AsMemory(sizeof(uint));
    }

    /// <inheritdoc />
    public async ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListLength");
        return (long)(await EvalAsync("ListLength", key, write: false, RedisScripts.ListLength, ListKeys(key), [Now], cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListTrim");
        return (long)(await EvalAsync("ListTrim", key, write: true, RedisScripts.ListTrim, ListKeys(key), [Now, start, stop, ChannelSlot], cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListDelete");
        return (long)(await EvalAsync("ListDelete", key, write: true, RedisScripts.ListDelete, ListKeys(key), [Now, ChannelSlot], cancellationToken).ConfigureAwait(false))! == 1;
    }

    /// <inheritdoc />
    public async ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        return await ExpireAsync("ListTouch", RedisScripts.ListTouch, key, ListKeys(key), timeToLive, cancellationToken).ConfigureAwait(false) == 1;
    }

    private static Func<RedisKeys, RedisKey[]> ListKeys(string key) => k => [k.List(key), k.Meta(key)];
}
