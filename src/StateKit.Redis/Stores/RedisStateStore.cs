using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StateKit.Adapters;
using StateKit.Redis.Internal;
using StateKit.Serialization;

namespace StateKit.Redis;

/// <summary>
/// An <see cref="IStateStore"/> in Redis, shared by any number of application instances.
/// An entry is one hash holding value and version together; every conditional operation is a single Lua script,
/// so it is atomic. Expiry uses Redis' own millisecond expiry, and the expiry time is also stored so that an
/// entry is hidden the moment it is due by the store's <see cref="TimeProvider"/>. Lists are Redis lists.
/// Listing uses SCAN (never KEYS), which returns every key that exists for the whole listing.
/// </summary>
/// <remarks>
/// Built on StackExchange.Redis 2.13.23 and tested on it and on 3.4.35. Works with one Redis server (with or
/// without replicas) and with Redis Cluster: on a cluster the keys use the hash-slot layout
/// (<see cref="RedisKeyLayout.HashSlots"/>), in which every key of a shard (a scope, a session) shares a hash slot, a
/// batch is atomic within one shard (<see cref="SetManyAsync"/>), and listing and purging run on every primary. A write that timed out or lost its connection after it was sent raises
/// <see cref="StateStoreUnavailableException"/> with <see cref="StateStoreUnavailableException.WriteMayHaveApplied"/> set.
/// </remarks>
public sealed partial class RedisStateStore : IStateStore, IStateStoreCapabilities, IVersionPreservingStateStore, IStateListCatalog, StateKit.Internal.IStateStoreLocation, StateKit.Internal.IStateStoreBackend
{
    private readonly RedisConnection _connection;
    private readonly StateStoreGuard _guard;
    private readonly RedisStateStoreOptions _options;
    private readonly string _base;
    /// <summary>
    /// The place of the change channel among a writing script's arguments: <see cref="EvalAsync"/> fills in the channel of
    /// the keys' bucket once the layout is known (<see cref="RedisScripts.Script.ChannelArgument"/>).
    /// </summary>
    private static readonly RedisValue ChannelSlot = RedisValue.EmptyString;

    /// <summary>Initializes a new instance of the <see cref="RedisStateStore"/> class that owns its connection.</summary>
    /// <param name="options">The options; <see cref="RedisStateStoreOptions.Configuration"/> is required.</param>
    /// <param name="timeProvider">The clock for expiry; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="logger">Where lost connections and reconnects are logged; none when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public RedisStateStore(RedisStateStoreOptions options, TimeProvider? timeProvider = null, ILogger<RedisStateStore>? logger = null)
        : this(options, null, timeProvider, logger)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RedisStateStore"/> class on an application's multiplexer (never disposed or replaced by the store).</summary>
    /// <param name="multiplexer">The multiplexer.</param>
    /// <param name="options">The options; the configuration string is ignored.</param>
    /// <param name="timeProvider">The clock for expiry; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="logger">Where lost connections and reconnects are logged; none when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public RedisStateStore(IConnectionMultiplexer multiplexer, RedisStateStoreOptions options, TimeProvider? timeProvider = null, ILogger<RedisStateStore>? logger = null)
        : this(options, multiplexer ?? throw new ArgumentNullException(nameof(multiplexer)), timeProvider, logger)
    {
    }

    private RedisStateStore(RedisStateStoreOptions options, IConnectionMultiplexer? multiplexer, TimeProvider? timeProvider, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.RedisKeyPrefix, nameof(options) + "." + nameof(options.RedisKeyPrefix));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Database, -1, nameof(options) + "." + nameof(options.Database));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ScanPageSize, 1, nameof(options) + "." + nameof(options.ScanPageSize));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.OperationTimeout, TimeSpan.Zero, nameof(options) + "." + nameof(options.OperationTimeout));
        _guard = new StateStoreGuard(Name, options, timeProvider);
        _options = options;
        if (multiplexer is not null)
        {
            _connection = new RedisConnection(multiplexer, options.Database, logger);
        }
        else
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(options.Configuration, nameof(options) + "." + nameof(options.Configuration));
            ConfigurationOptions configuration;
            try
            {
                configuration = ConfigurationOptions.Parse(options.Configuration);
            }
            catch (ArgumentException ex)
            {
                // The parser's message quotes the configuration, password included; never pass it on.
                throw new ArgumentException("The Redis configuration string is not valid (check its options).", nameof(options), ex.InnerException);
            }

            _connection = new RedisConnection(configuration, options.Database, options.OperationTimeout, logger);
            Location = "Redis at " + string.Join(", ", configuration.EndPoints.Select(e => e.ToString()));
        }

        var prefix = options.KeyPrefix;
        _base = $"{options.RedisKeyPrefix}:{prefix.Length}:{prefix}:";
    }

    /// <inheritdoc />
    /// <remarks>
    /// Batches are atomic in the single-server layout. In the hash-slot layout (<see cref="KeyLayout"/>; on a Redis
    /// Cluster) a batch is atomic within one shard only, so the store declares no <see cref="StateStoreCapabilities.AtomicBatches"/>
    /// there; until it has first talked to Redis it declares what <see cref="RedisStateStoreOptions.KeyLayout"/> implies
    /// (atomic unless <see cref="RedisKeyLayout.HashSlots"/> is asked for).
    /// </remarks>
    public StateStoreCapabilities Capabilities =>
        (_keys?.Layout ?? _options.KeyLayout) == RedisKeyLayout.HashSlots ? StateStoreCapabilities.None : StateStoreCapabilities.AtomicBatches;

    /// <inheritdoc />
    public string Name => "redis";

    /// <inheritdoc />
    string StateKit.Internal.IStateStoreLocation.Location => Location ?? "Redis on the application's connection";

    /// <inheritdoc />
    StateKit.Adapters.StateStoreGuard StateKit.Internal.IStateStoreBackend.Guard => _guard;

    private string? Location { get; }

    private long Now => _guard.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    /// <inheritdoc />
    public async ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Get");
        var fields = await RunAsync("Get", key, write: false, async (db, k) =>
        {
            // The bucket's write counter in the same round trip: a read must not find it lower than seen before.
            var bucket = k.Bucket(key);
            var before = SeenCounter(bucket);
            var entry = db.HashGetAsync(k.Entry(key, bucket), EntryFields);
            var counter = db.StringGetAsync(k.Counter(bucket));
            var result = await entry.ConfigureAwait(false);
            Observe(bucket, key, before, (long)await counter.ConfigureAwait(false), "Get", write: false);
            return result;
        }, cancellationToken).ConfigureAwait(false);
        return ToEntry(key, fields);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        var distinct = _guard.ValidateDistinctKeys(keys, "GetMany");
        var all = await RunAsync("GetMany", null, write: false, async (db, k) =>
        {
            // One key per bucket stands for its bucket's write counter, read in the same round trip as the entries.
            var bucketOf = distinct.Select(k.Bucket).ToArray();
            var buckets = bucketOf.Distinct().Select(b => (Bucket: b, Key: distinct[Array.IndexOf(bucketOf, b)], Before: SeenCounter(b))).ToArray();
            var counters = buckets.Select(b => db.StringGetAsync(k.Counter(b.Bucket))).ToArray();
            var entries = await Task.WhenAll(distinct.Select((key, i) => db.HashGetAsync(k.Entry(key, bucketOf[i]), EntryFields))).ConfigureAwait(false);
            for (var i = 0; i < buckets.Length; i++)
            {
                Observe(buckets[i].Bucket, buckets[i].Key, buckets[i].Before, (long)await counters[i].ConfigureAwait(false), "GetMany", write: false);
            }

            return entries;
        }, cancellationToken).ConfigureAwait(false);
        var result = new Dictionary<string, StateEntry>(distinct.Count, StringComparer.Ordinal);
        for (var i = 0; i < distinct.Count; i++)
        {
            if (ToEntry(distinct[i], all[i]) is { } entry)
            {
                result[distinct[i]] = entry;
            }
        }

        return result;
    }

    /// <inheritdoc />
    public async ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateWrite(key, value, options, "Set");
        var versions = await WriteAsync("Set", [new StateWrite(key, value, options)], cancellationToken).ConfigureAwait(false);
        return versions[0];
    }

    /// <inheritdoc />
    /// <remarks>
    /// In the single-server layout the batch is one script: when a conditional write conflicts, nothing of the batch is
    /// written. In the hash-slot layout the writes of one shard are one such script; a batch over several shards checks
    /// every condition first (a conflict then writes nothing) and then writes one script per shard, shard after shard in
    /// the order of their first write, so a concurrent writer or a failure can leave the earlier shards written (the call
    /// then raises <see cref="StateConflictException"/> or <see cref="StateStoreUnavailableException"/>).
    /// </remarks>
    public async ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateBatch(writes, "SetMany");
        if (writes.Count == 0)
        {
            return Array.Empty<long>();
        }

        var keys = _keys ?? await RunAsync("SetMany", null, write: false, (_, k) => Task.FromResult(k), cancellationToken).ConfigureAwait(false);
        var first = keys.Bucket(writes[0].Key);
        return keys.HashSlots && writes.Skip(1).Any(w => keys.Bucket(w.Key) != first)
            ? await WriteAcrossShardsAsync(keys, writes, cancellationToken).ConfigureAwait(false)
            : await WriteAsync("SetMany", writes, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        var at = _guard.ValidateVersionedWrite(key, value, version, expiresAt, "SetAtVersion");
        var now = Now;
        var (expiry, ttl) = Expiry(at, now);
        var result = (long)(await EvalAsync("SetAtVersion", key, write: true, RedisScripts.SetAtVersion, k => [k.Entry(key)], [now, WholeArray.Of(value), version, expiry, ttl, ChannelSlot, Crc32C.Keyed(key, Crc32C.EntryPosition, value.Span)], cancellationToken).ConfigureAwait(false))!;
        return result == -2 ? throw WrongType("SetAtVersion", key) : result == 1;
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Delete");
        _guard.ValidateDeleteVersion(expectedVersion);
        var result = (RedisResult[])(await EvalAsync("Delete", key, write: true, RedisScripts.Delete, k => [k.Entry(key)], [Now, expectedVersion ?? -1, ChannelSlot], cancellationToken).ConfigureAwait(false))!;
        var outcome = (long)result[0];
        return outcome switch
        {
            >= 0 => outcome == 1,
            -2 => throw WrongType("Delete", key),
            _ => throw new StateConflictException(Name, "Delete", key, expectedVersion!.Value, (long)result[1]),
        };
    }

    /// <inheritdoc />
    public async ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Exists");
        var fields = await RunAsync("Exists", key, write: false, (db, k) => db.HashGetAsync(k.Entry(key), ExistsFields), cancellationToken).ConfigureAwait(false);
        return !fields[0].IsNull && (fields[1].IsNull || !fields[1].TryParse(out long ms) || ms > Now);
    }

    /// <inheritdoc />
    public async ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        var touched = await ExpireAsync("Touch", RedisScripts.Touch, key, k => [k.Entry(key)], timeToLive, cancellationToken).ConfigureAwait(false);
        return touched == -2 ? throw WrongType("Touch", key) : touched == 1;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Keys come in no particular order, a SCAN page at a time; each live key is returned once. On a Redis Cluster every
    /// primary is scanned (a node whose topology changed during its scan is scanned again), and a listing that cannot
    /// reach every primary fails with <see cref="StateStoreUnavailableException"/> rather than answer in part.
    /// </remarks>
    public async IAsyncEnumerable<string> ListKeysAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidatePrefix(prefix, "ListKeys");

        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var (keys, page) in ScanAsync("ListKeys", RedisScripts.ScanEntries, k => k.EntryPattern(prefix), purge: false, cancellationToken).ConfigureAwait(false))
        {
            for (var i = 2; i < page.Length; i++)
            {
                if (keys.TryParse((string)page[i]!, out var entry, out var key) && entry && key.StartsWith(prefix, StringComparison.Ordinal) && seen.Add(key))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return key;
                }
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Scans like <see cref="ListKeysAsync"/> (every primary of a cluster, never a partial answer).</remarks>
    public async IAsyncEnumerable<StateListInfo> ListListsAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidatePrefix(prefix, "ListLists");

        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var (keys, page) in ScanAsync("ListLists", RedisScripts.ScanLists, k => k.ListPattern(prefix), purge: false, cancellationToken).ConfigureAwait(false))
        {
            for (var i = 2; i + 1 < page.Length; i += 2)
            {
                if (keys.TryParse((string)page[i]!, out var entry, out var key) && !entry && key.StartsWith(prefix, StringComparison.Ordinal) && seen.Add(key))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var expiry = (string?)page[i + 1];
                    yield return new StateListInfo(key, string.IsNullOrEmpty(expiry) ? null : DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(expiry, System.Globalization.CultureInfo.InvariantCulture)));
                }
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Redis removes expired keys on its own; this removes the ones already due by the store's clock and scans the namespace (every primary of a cluster) to find them.</remarks>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        long removed = 0;
        await foreach (var (_, page) in ScanAsync("PurgeExpired", RedisScripts.ScanEntries, k => k.EntryPattern(string.Empty), purge: true, cancellationToken).ConfigureAwait(false))
        {
            removed += (long)page[1];
        }

        await foreach (var (_, page) in ScanAsync("PurgeExpired", RedisScripts.PurgeLists, k => k.MetaPattern(), purge: true, cancellationToken).ConfigureAwait(false))
        {
            removed += (long)page[1];
        }

        return removed;
    }

    /// <summary>Sends PING; used by the health check.</summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The round-trip time.</returns>
    public async ValueTask<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        return await RunAsync("Ping", null, write: false, (db, _) => db.PingAsync(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the multiplexer when the store created it.</summary>
    /// <returns>A task.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_guard.MarkDisposed())
        {
            await StopFeedAsync().ConfigureAwait(false);
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static readonly RedisValue[] EntryFields = ["v", "n", "x", "c", "k"];
    private static readonly RedisValue[] ExistsFields = ["n", "x"];

    private static (long Expiry, long Ttl) Expiry(DateTimeOffset? at, long now)
    {
        if (at is not { } expiresAt)
        {
            return (-1, -1);
        }

        var ms = expiresAt.ToUnixTimeMilliseconds();
        return (ms, Math.Max(1, ms - now));
    }

    /// <summary>Runs a touch script (entry or list): ARGV now, expiry, ttl, change channel.</summary>
    private async ValueTask<long> ExpireAsync(string operation, RedisScripts.Script script, string key, Func<RedisKeys, RedisKey[]> keys, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, operation);
        StateStoreGuard.ValidateTimeToLive(timeToLive);
        var now = Now;
        var (expiry, ttl) = Expiry(_guard.ExpiryFrom(timeToLive), now);
        return (long)(await EvalAsync(operation, key, write: true, script, keys, [now, expiry, ttl, ChannelSlot], cancellationToken).ConfigureAwait(false))!;
    }

    private StateCorruptedException WrongType(string operation, string? key, Exception? inner = null) =>
        new(Name, operation, key, "the Redis key holds another type than a StateKit entry (written by something else)", key is null ? null : Described(key), inner);

    /// <summary>Where an entry lives, for messages (its hash tag left out; a session id cut short).</summary>
    private string Described(string key) => _base + "e:" + StateKeys.Printable(key);

    private StateEntry? ToEntry(string key, RedisValue[] fields)
    {
        if (fields[1].IsNull)
        {
            return null;
        }

        if (!fields[1].TryParse(out long version) || version < 1 || fields[0].IsNull)
        {
            throw new StateCorruptedException(Name, "Get", key, "the hash has no value or no valid version", Described(key));
        }

        DateTimeOffset? expiresAt = null;
        if (!fields[2].IsNull)
        {
            if (!fields[2].TryParse(out long ms))
            {
                throw new StateCorruptedException(Name, "Get", key, "the hash has an invalid expiry", Described(key));
            }

            if (ms <= Now)
            {
                return null;
            }

            expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }

        var value = (byte[])fields[0]!;

        // The checksum holds for the version it was written at (k); a hash changed since by a writer without checksums
        // (an older StateKit during a rolling upgrade) has moved on from it and is read unverified, like one written before.
        if (!fields[3].IsNull && fields[4].TryParse(out long checkedVersion) && checkedVersion == version
            && (!fields[3].TryParse(out long crc) || crc != Crc32C.Keyed(key, Crc32C.EntryPosition, value)))
        {
            throw new StateCorruptedException(Name, "Get", key, "the stored value does not match its checksum (damaged, or copied from another key)", Described(key));
        }

        return new StateEntry(key, value, version, expiresAt);
    }

    private async ValueTask<long[]> WriteAsync(string operation, IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken)
    {
        var now = Now;
        var args = new RedisValue[2 + (writes.Count * 6)];
        args[0] = now;
        args[^1] = ChannelSlot;
        for (var i = 0; i < writes.Count; i++)
        {
            var write = writes[i];
            var (expiry, ttl) = Expiry(_guard.ResolveExpiry(write.Options.TimeToLive), now);
            var at = 1 + (i * 6);
            args[at] = WholeArray.Of(write.Value);
            args[at + 1] = write.Options.ExpectedVersion ?? -1;
            args[at + 2] = expiry;
            args[at + 3] = ttl;
            args[at + 4] = StateStoreGuard.KeepsExpiry(write.Options.TimeToLive) ? 1 : 0;
            args[at + 5] = Crc32C.Keyed(write.Key, Crc32C.EntryPosition, write.Value.Span);
        }

        var key = writes.Count == 1 ? writes[0].Key : null;
        var result = (RedisResult[])(await EvalAsync(operation, key, write: true, RedisScripts.SetMany, k => writes.Select(w => (RedisKey)k.Entry(w.Key)).ToArray(), args, cancellationToken, writes[0].Key).ConfigureAwait(false))!;
        if ((long)result[0] == 2)
        {
            throw WrongType(operation, writes[(int)(long)result[1] - 1].Key);
        }

        if ((long)result[0] == 0)
        {
            var conflict = writes[(int)(long)result[1] - 1];
            throw new StateConflictException(Name, operation, conflict.Key, conflict.Options.ExpectedVersion!.Value, (long)result[2]);
        }

        var versions = new long[writes.Count];
        for (var i = 0; i < versions.Length; i++)
        {
            versions[i] = (long)result[i + 1];
        }

        return versions;
    }

    /// <summary>
    /// A batch over several shards of the hash-slot layout: every condition checked first against the live versions and
    /// the batch's own earlier writes (as the script's first pass does), then one script per shard with that shard's
    /// writes in the batch's order, shard after shard in the order of their first write.
    /// </summary>
    private async ValueTask<long[]> WriteAcrossShardsAsync(RedisKeys keys, IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken)
    {
        var conditioned = writes.Where(w => w.Options.ExpectedVersion is not null).Select(w => w.Key).Distinct(StringComparer.Ordinal).ToArray();
        if (conditioned.Length > 0)
        {
            var fields = await RunAsync("SetMany", null, write: false, (db, k) => Task.WhenAll(conditioned.Select(key => db.HashGetAsync(k.Entry(key), ExistsFields))), cancellationToken).ConfigureAwait(false);
            var now = Now;
            var state = new Dictionary<string, long>(StringComparer.Ordinal);
            for (var i = 0; i < conditioned.Length; i++)
            {
                var live = !fields[i][0].IsNull && (fields[i][1].IsNull || !fields[i][1].TryParse(out long ms) || ms > now);
                state[conditioned[i]] = live && fields[i][0].TryParse(out long version) ? version : 0;
            }

            foreach (var write in writes)
            {
                var current = state.GetValueOrDefault(write.Key);
                if (write.Options.ExpectedVersion is { } expected && expected != current)
                {
                    throw new StateConflictException(Name, "SetMany", write.Key, expected, current);
                }

                state[write.Key] = current + 1;
            }
        }

        // One script per shard (its writes in the batch's order), shard after shard in the order of their first write:
        // callers that order a batch for stores without atomic batches (a session's scope owner before its record)
        // keep that order when a failure stops the batch halfway.
        var versions = new long[writes.Count];
        foreach (var shard in Enumerable.Range(0, writes.Count).GroupBy(i => keys.Bucket(writes[i].Key)))
        {
            var indexes = shard.ToArray();
            var written = await WriteAsync("SetMany", indexes.Select(i => writes[i]).ToArray(), cancellationToken).ConfigureAwait(false);
            for (var j = 0; j < indexes.Length; j++)
            {
                versions[indexes[j]] = written[j];
            }
        }

        return versions;
    }

    private Task<RedisResult> EvalAsync(string operation, string? key, bool write, RedisScripts.Script script, Func<RedisKeys, RedisKey[]> keys, RedisValue[] args, CancellationToken cancellationToken, string? slotKey = null) =>
        RunAsync(operation, key, write, async (db, k) =>
        {
            var redisKeys = keys(k);
            var counted = slotKey ?? key;
            var bucket = script.IsStamped ? k.Bucket(counted!) : 0;
            var run = script;
            if (script.IsStamped)
            {
                // The write counter of the keys' bucket, last (the script increments it and returns it), and the
                // bucket's change channel: the store's one channel, or with a sharded feed the bucket's own, in the
                // keys' hash slot, published to by SPUBLISH.
                redisKeys = [.. redisKeys, k.Counter(bucket)];
                args[script.ChannelArgument] = k.Channel(bucket);
                run = k.ShardedFeed ? script.Sharded : script;
            }

            var before = SeenCounter(bucket);
            RedisResult result;
            try
            {
                result = await db.ScriptEvaluateAsync(run.Hash, redisKeys, args).ConfigureAwait(false);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                // First use on this server (or after a restart): EVAL loads it into the script cache.
                result = await db.ScriptEvaluateAsync(run.Text, redisKeys, args).ConfigureAwait(false);
            }

            if (!script.IsStamped)
            {
                return result;
            }

            var stamped = (RedisResult[])result!;
            Observe(bucket, counted!, before, (long)stamped[1], operation, write: true);
            return stamped[0];
        }, cancellationToken, slotKey);
}
