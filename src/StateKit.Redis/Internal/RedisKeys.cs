using System.Text;
using StateKit.Internal;
using StateKit.Serialization;

namespace StateKit.Redis.Internal;

/// <summary>
/// Where the store's data lives in Redis, for one of the two layouts (<see cref="RedisKeyLayout"/>).
/// <list type="bullet">
/// <item>Single server (layout 1): <c>{base}e:{key}</c> entry hash, <c>{base}l:{key}</c> list, <c>{base}m:{key}</c> list meta.</item>
/// <item>Hash slots (layout 2): the same with a hash tag of the key's shard before the kind, <c>{base}{bbb}e:{key}</c>,
/// where <c>bbb</c> is the shard's bucket, the CRC-32C of the shard (<see cref="StoreKeyLayout.ShardOf"/>) modulo
/// 1,024, in three hex digits: a list and its meta key, and every key of a scope, share one hash slot, so each script
/// touches one slot. The bucket count is fixed (changing it moves data): 1,024 buckets spread over any cluster of up to
/// a few hundred primaries, and bound the channels a sharded change feed needs.</item>
/// </list>
/// <c>{base}</c> is <c>{RedisKeyPrefix}:{length of KeyPrefix}:{KeyPrefix}:</c>; <c>{base}layout</c> holds the layout's number
/// (<c>2s</c>: layout 2 with a sharded change feed, SPUBLISH on <c>{base}{bbb}changes</c>, chosen where every server runs
/// Redis 7 or later; else the feed is the classic channel <c>{base}changes</c>),
/// and <c>{base}w</c> (layout 1) or <c>{base}{bbb}w</c> (layout 2) the write counter of a bucket (<see cref="Counter"/>).
/// </summary>
internal sealed class RedisKeys
{
    /// <summary>The number of buckets of the hash-slot layout.</summary>
    public const int Buckets = 1024;

    /// <summary>The length of a hash tag: braces and 3 hex digits.</summary>
    private const int TagLength = 5;

    /// <summary>The hash tag of each bucket, <c>{000}</c> to <c>{3ff}</c>, made once.</summary>
    private static readonly string[] Tags = Enumerable.Range(0, Buckets).Select(b => "{" + b.ToString("x3", System.Globalization.CultureInfo.InvariantCulture) + "}").ToArray();

    private readonly string _base;
    private readonly string _globBase;
    private readonly string[] _counters;
    private readonly string[] _channels;

    private RedisKeys(string @base, RedisKeyLayout layout, bool shardedFeed)
    {
        _base = @base;
        _globBase = Glob(@base);
        Layout = layout;
        HashSlots = layout == RedisKeyLayout.HashSlots;
        ShardedFeed = HashSlots && shardedFeed;
        _counters = HashSlots ? Tags.Select(tag => @base + tag + "w").ToArray() : [@base + "w"];
        _channels = ShardedFeed ? Tags.Select(tag => @base + tag + "changes").ToArray() : [@base + "changes"];
        KindOffset = @base.Length + (HashSlots ? TagLength : 0);
        KindByteOffset = Encoding.UTF8.GetByteCount(@base) + (HashSlots ? TagLength : 0);
    }

    /// <summary>Gets the layout.</summary>
    public RedisKeyLayout Layout { get; }

    /// <summary>Gets a value indicating whether keys carry hash tags (layout 2).</summary>
    public bool HashSlots { get; }

    /// <summary>Gets a value indicating whether the change feed is sharded: one channel per bucket, SPUBLISH / SSUBSCRIBE (layout 2 on Redis 7+).</summary>
    public bool ShardedFeed { get; }

    /// <summary>Gets the change channels: one per bucket with a sharded feed, else the store's one channel.</summary>
    public IReadOnlyList<string> Channels => _channels;

    /// <summary>Gets the character offset of the kind (<c>e:</c>, <c>l:</c>, <c>m:</c>) in a Redis key of this store.</summary>
    public int KindOffset { get; }

    /// <summary>Gets the byte offset of the kind in a Redis key of this store (for the scripts).</summary>
    public int KindByteOffset { get; }

    /// <summary>The key of the marker holding the layout number.</summary>
    public static string MarkerKey(string @base) => @base + "layout";

    /// <summary>The keys of <paramref name="layout"/> under <paramref name="base"/>; <paramref name="shardedFeed"/> for a sharded change feed (layout 2 only).</summary>
    public static RedisKeys For(string @base, RedisKeyLayout layout, bool shardedFeed = false) => new(@base, layout, shardedFeed);

    /// <summary>The change channel of a write in <paramref name="bucket"/>.</summary>
    public string Channel(int bucket) => _channels[ShardedFeed ? bucket : 0];

    /// <summary>The entry hash of <paramref name="key"/>.</summary>
    public string Entry(string key) => Entry(key, Bucket(key));

    /// <summary>The entry hash of <paramref name="key"/>, whose <see cref="Bucket"/> is known.</summary>
    public string Entry(string key, int bucket) => Prefixed(key, "e:", bucket);

    /// <summary>The Redis list of <paramref name="key"/>.</summary>
    public string List(string key) => Prefixed(key, "l:", Bucket(key));

    /// <summary>The list meta key of <paramref name="key"/>.</summary>
    public string Meta(string key) => Prefixed(key, "m:", Bucket(key));

    /// <summary>Gets the number of write counters: one per bucket (layout 2), or one (layout 1).</summary>
    public int Counters => _counters.Length;

    /// <summary>
    /// The bucket of <paramref name="key"/>: the CRC-32C of its shard (<see cref="StoreKeyLayout.ShardOf"/>) modulo
    /// <see cref="Buckets"/> in layout 2, always 0 in layout 1. It picks the key's hash tag and its write counter.
    /// </summary>
    public int Bucket(string key) => HashSlots ? BucketOf(StoreKeyLayout.ShardOf(key)) : 0;

    /// <summary>
    /// The write counter of a bucket: every writing script increments it in the same atomic run (same hash slot), and
    /// it is never deleted or expired, so it only goes back when Redis lost writes (a failover to a replica that
    /// lagged, a restart from an older snapshot, a flush).
    /// </summary>
    public string Counter(int bucket) => _counters[bucket];

    /// <summary>The SCAN pattern of the entries whose keys start with <paramref name="prefix"/>.</summary>
    public string EntryPattern(string prefix) => KindPattern("e:") + Glob(prefix) + "*";

    /// <summary>The SCAN pattern of the list keys whose StateKit key starts with <paramref name="prefix"/>.</summary>
    public string ListPattern(string prefix) => KindPattern("l:") + Glob(prefix) + "*";

    /// <summary>The SCAN pattern of every list meta key.</summary>
    public string MetaPattern() => KindPattern("m:") + "*";

    /// <summary>The StateKit key of a Redis key of this store, and whether it is an entry (<c>e:</c>) or a list (<c>l:</c>).</summary>
    /// <returns><see langword="false"/> when the Redis key is not an entry or list of this store.</returns>
    public bool TryParse(ReadOnlySpan<char> redisKey, out bool entry, out string key)
    {
        entry = false;
        key = string.Empty;
        if (redisKey.Length < KindOffset + 2 || !redisKey.StartsWith(_base, StringComparison.Ordinal))
        {
            return false;
        }

        if (HashSlots && (redisKey[_base.Length] != '{' || redisKey[KindOffset - 1] != '}'))
        {
            return false;
        }

        var kind = redisKey.Slice(KindOffset, 2);
        entry = kind is "e:";
        if (!entry && kind is not "l:")
        {
            return false;
        }

        key = redisKey[(KindOffset + 2)..].ToString();
        return true;
    }

    private static int BucketOf(string shard)
    {
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetMaxByteCount(shard.Length) <= buffer.Length ? buffer[..Encoding.UTF8.GetBytes(shard, buffer)] : Encoding.UTF8.GetBytes(shard);
        return (int)(Crc32C.Compute(bytes) % Buckets);
    }

    private static string Glob(string text)
    {
        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    private string Prefixed(string key, string kind, int bucket) =>
        HashSlots ? string.Concat(_base, Tags[bucket], kind, key) : string.Concat(_base, kind, key);

    private string KindPattern(string kind) => HashSlots ? _globBase + "{???}" + kind : _globBase + kind;
}
