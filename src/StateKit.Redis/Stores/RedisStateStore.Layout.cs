using System.Runtime.CompilerServices;
using StackExchange.Redis;
using StateKit.Redis.Internal;

namespace StateKit.Redis;

/// <content>
/// The key layout (chosen on first contact and recorded in Redis) and scans over every primary of a cluster.
/// </content>
public sealed partial class RedisStateStore
{
    /// <summary>The layout marker of layout 2 with a sharded change feed.</summary>
    private const string ShardedMarker = "2s";

    private readonly SemaphoreSlim _resolving = new(1, 1);
    private volatile RedisKeys? _keys;
    private long[] _seenCounters = [];

    /// <summary>
    /// Gets the key layout in use: <see langword="null"/> until the store has first talked to Redis, then
    /// <see cref="RedisKeyLayout.SingleServer"/> or <see cref="RedisKeyLayout.HashSlots"/>.
    /// </summary>
    public RedisKeyLayout? KeyLayout => _keys?.Layout;

    /// <summary>
    /// Decides the layout: the one recorded under <c>{base}layout</c> by the first store on this prefix, else the hash-slot
    /// layout on a cluster (or when <see cref="RedisStateStoreOptions.KeyLayout"/> asks for it) and the single-server
    /// layout otherwise, recorded for the next ones. A recorded layout that the options or the server refuse fails
    /// with <see cref="StateStoreConfigurationException"/>: reading in another layout would find nothing.
    /// </summary>
    private async Task<RedisKeys> ResolveLayoutAsync(IDatabase db, string operation)
    {
        await _resolving.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_keys is { } known)
            {
                return known;
            }

            var marker = RedisKeys.MarkerKey(_base);
            var stored = await db.StringGetAsync(marker).ConfigureAwait(false);
            var cluster = _connection.IsCluster(db.Multiplexer);
            var wanted = _options.KeyLayout;
            if (cluster && wanted == RedisKeyLayout.SingleServer)
            {
                throw new StateStoreConfigurationException(Name, operation, null, "KeyLayout is SingleServer but the server is a Redis Cluster, where that layout's scripts would span hash slots; use Automatic or HashSlots");
            }

            if (stored.IsNull)
            {
                // Layout 2 gets the sharded feed where every server can SPUBLISH (Redis 7); the choice is recorded with
                // the layout, so every instance on the prefix publishes and subscribes alike.
                RedisValue chosen = cluster || wanted == RedisKeyLayout.HashSlots
                    ? (SupportsShardedPubSub(db.Multiplexer) ? ShardedMarker : "2")
                    : "1";
                stored = await db.StringSetAsync(marker, chosen, when: When.NotExists).ConfigureAwait(false)
                    ? chosen
                    : await db.StringGetAsync(marker).ConfigureAwait(false); // another instance recorded one first
            }

            var sharded = stored == ShardedMarker;
            var number = sharded ? (int)RedisKeyLayout.HashSlots : stored.TryParse(out int n) ? n : 0;
            if (number is not ((int)RedisKeyLayout.SingleServer) and not ((int)RedisKeyLayout.HashSlots))
            {
                throw new StateStoreConfigurationException(Name, operation, null, $"the layout marker '{marker}' holds '{stored}', not a layout this version knows (1, 2 or 2s); it was written by something else or a newer StateKit");
            }

            var layout = (RedisKeyLayout)number;
            if (wanted != RedisKeyLayout.Automatic && wanted != layout)
            {
                throw new StateStoreConfigurationException(Name, operation, null, $"KeyLayout is {wanted} but the data under this prefix is in the {layout} layout (marker '{marker}'); reading it in another layout would find nothing. Use Automatic, or copy the data to another prefix");
            }

            if (cluster && layout == RedisKeyLayout.SingleServer)
            {
                throw new StateStoreConfigurationException(Name, operation, null, $"the data under this prefix is in the single-server layout (marker '{marker}'), which a Redis Cluster cannot serve; copy it to a store in the HashSlots layout");
            }

            var keys = RedisKeys.For(_base, layout, sharded);
            _seenCounters = new long[keys.Counters];
            return _keys = keys;
        }
        finally
        {
            _resolving.Release();
        }
    }

    /// <summary>Whether every server the multiplexer knows runs Redis 7 or later (sharded pub/sub: SPUBLISH, SSUBSCRIBE).</summary>
    private static bool SupportsShardedPubSub(IConnectionMultiplexer multiplexer)
    {
        var servers = multiplexer.GetServers();
        return servers.Length > 0 && servers.All(s => s.Version >= new Version(7, 0));
    }

    /// <summary>
    /// Runs a SCAN script page by page over the database, or on a cluster over every primary: the scan repeats (pages
    /// already seen come again; callers de-duplicate) when the primaries changed during it, and fails rather than
    /// answer in part when a primary that holds slots cannot be reached.
    /// </summary>
    private async IAsyncEnumerable<(RedisKeys Keys, RedisResult[] Page)> ScanAsync(string operation, RedisScripts.Script script, Func<RedisKeys, string> pattern, bool purge, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var keys = await RunAsync(operation, null, write: false, (_, k) => Task.FromResult(k), cancellationToken).ConfigureAwait(false);
        var multiplexer = (await _connection.DatabaseAsync(cancellationToken).ConfigureAwait(false)).Multiplexer;
        var glob = pattern(keys);
        if (!_connection.IsCluster(multiplexer))
        {
            var cursor = "0";
            do
            {
                var page = (RedisResult[])(await EvalAsync(operation, null, write: purge, script, _ => [], ScanArguments(keys, script, glob, cursor, purge), cancellationToken).ConfigureAwait(false))!;
                cursor = (string)page[0]!;
                yield return (keys, page);
            }
            while (cursor != "0");
            yield break;
        }

        var done = new HashSet<string>(StringComparer.Ordinal);
        for (var round = 0; ; round++)
        {
            var (primaries, topology) = Primaries(multiplexer, operation);
            var pending = primaries.Where(p => !done.Contains(p.EndPoint.ToString()!)).ToList();
            if (pending.Count == 0)
            {
                yield break;
            }

            if (round == 5)
            {
                throw new StateStoreUnavailableException(Name, operation, null, "the Redis Cluster's primaries kept changing during the scan (a failover or resharding); try again once the cluster is stable.", null);
            }

            foreach (var server in pending)
            {
                var cursor = "0";
                var complete = true;
                do
                {
                    var page = await NodePageAsync(server, operation, script, ScanArguments(keys, script, glob, cursor, purge), cancellationToken).ConfigureAwait(false);
                    if (page is null)
                    {
                        complete = false; // the node went away mid-scan: the next round scans whoever holds its slots now
                        break;
                    }

                    cursor = (string)page[0]!;
                    yield return (keys, page);
                }
                while (cursor != "0");
                if (complete)
                {
                    done.Add(server.EndPoint.ToString()!);
                }
            }

            if (Primaries(multiplexer, operation).Topology != topology)
            {
                done.Clear(); // slots moved while scanning: scan every primary again
            }
        }
    }

    private RedisValue[] ScanArguments(RedisKeys keys, RedisScripts.Script script, string pattern, string cursor, bool purge) =>
        script == RedisScripts.PurgeLists || script == RedisScripts.ScanLists
            ? [cursor, pattern, Now, _options.ScanPageSize, keys.KindByteOffset]
            : [cursor, pattern, Now, _options.ScanPageSize, purge ? 1 : 0];

    /// <summary>The primaries holding the cluster's slots, and a description of who holds which (to notice a change).</summary>
    private (IReadOnlyList<IServer> Servers, string Topology) Primaries(IConnectionMultiplexer multiplexer, string operation)
    {
        var configuration = multiplexer.GetServers().FirstOrDefault(s => s.IsConnected && s.ServerType == ServerType.Cluster)?.ClusterConfiguration
            ?? throw new StateStoreUnavailableException(Name, operation, null, "no node of the Redis Cluster is reachable.", null);
        var owners = configuration.Nodes.Where(n => !n.IsReplica && n.Slots.Count > 0).OrderBy(n => n.EndPoint?.ToString(), StringComparer.Ordinal).ToList();
        var covered = owners.Sum(n => n.Slots.Sum(r => r.To - r.From + 1));
        if (covered < 16384)
        {
            throw new StateStoreUnavailableException(Name, operation, null, $"the Redis Cluster serves {covered} of its 16384 hash slots (a primary is down and not yet replaced); a scan now would miss keys.", null);
        }

        var servers = new List<IServer>(owners.Count);
        foreach (var owner in owners)
        {
            var server = owner.EndPoint is null ? null : multiplexer.GetServer(owner.EndPoint);
            if (server is not { IsConnected: true })
            {
                throw new StateStoreUnavailableException(Name, operation, null, $"the Redis Cluster primary at {owner.EndPoint} is not reachable; a scan now would miss its keys.", null);
            }

            servers.Add(server);
        }

        return (servers, string.Join(';', owners.Select(n => n.EndPoint + "=" + string.Join(',', n.Slots))));
    }

    /// <summary>The highest write counter this instance has seen for a bucket (read before sending an operation).</summary>
    private long SeenCounter(int bucket) => Volatile.Read(ref _seenCounters[bucket]);

    /// <summary>
    /// Checks a write counter that an operation read or raised for <paramref name="key"/>'s bucket against the highest
    /// seen before it was sent (<paramref name="before"/>, committed then, so a read must not find less and a write must
    /// raise it). Otherwise the data went back in time: logged, counted and raised as
    /// <see cref="StateVersionRegressedException"/>, and the mark follows the new state.
    /// </summary>
    private void Observe(int bucket, string key, long before, long counter, string operation, bool write)
    {
        ref var seen = ref _seenCounters[bucket];
        if (write ? counter <= before : counter < before)
        {
            Interlocked.Exchange(ref seen, counter);
            Log.VersionRegressed(_connection.Logger, operation, before, counter);
            StateKit.Internal.StateKitMetrics.Process.RecordVersionRegression(Name);
            throw new StateVersionRegressedException(Name, operation, key, before, counter, writeApplied: write);
        }

        for (var known = Volatile.Read(ref seen); counter > known; known = Volatile.Read(ref seen))
        {
            if (Interlocked.CompareExchange(ref seen, counter, known) == known)
            {
                return;
            }
        }
    }

    /// <summary>The primary that holds <paramref name="key"/>'s hash slot (the cluster's connection to it).</summary>
    private IServer PrimaryOf(IConnectionMultiplexer multiplexer, RedisKeys keys, string? key, string operation)
    {
        var configuration = multiplexer.GetServers().FirstOrDefault(s => s.IsConnected && s.ServerType == ServerType.Cluster)?.ClusterConfiguration;
        var owner = key is null ? null : configuration?.GetBySlot(keys.Entry(key));
        return owner?.EndPoint is { } endPoint
            ? multiplexer.GetServer(endPoint)
            : throw new StateStoreUnavailableException(Name, operation, key, "the Redis Cluster primary of the key's hash slot is not known, so its replicas cannot be asked (WAIT).", null, writeMayHaveApplied: true);
    }

    /// <summary>One page of a SCAN script on one node; <see langword="null"/> when the node's connection failed.</summary>
    private async Task<RedisResult[]?> NodePageAsync(IServer server, string operation, RedisScripts.Script script, RedisValue[] args, CancellationToken cancellationToken)
    {
        object[] arguments = [script.HashHex, 0, .. args.Select(a => (object)a)];
        try
        {
            return (RedisResult[]?)await RunAsync(operation, null, write: false, async (_, _) =>
            {
                try
                {
                    return await server.ExecuteAsync("EVALSHA", arguments).ConfigureAwait(false);
                }
                catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
                {
                    arguments[0] = script.Text;
                    return await server.ExecuteAsync("EVAL", arguments).ConfigureAwait(false);
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (StateStoreUnavailableException ex) when (ex.InnerException is RedisConnectionException)
        {
            return null;
        }
    }
}
