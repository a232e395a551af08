using System.ComponentModel.DataAnnotations;

namespace StateKit.Redis;

/// <summary>Options of <see cref="RedisStateStore"/>.</summary>
public sealed class RedisStateStoreOptions : StateStoreOptions
{
    /// <summary>
    /// Gets or sets the StackExchange.Redis configuration string (<c>host:port,password=…,ssl=true</c>). Not needed
    /// when the store is given an <c>IConnectionMultiplexer</c>. It never appears in StateKit's messages.
    /// </summary>
    public string Configuration { get; set; } = string.Empty;

    /// <summary>Gets or sets the Redis database number; -1 uses the configuration's default (normally 0).</summary>
    [Range(-1, int.MaxValue)]
    public int Database { get; set; } = -1;

    /// <summary>Gets or sets the first segment of every Redis key the store writes (default <c>statekit</c>).</summary>
    [Required]
    [MinLength(1)]
    public string RedisKeyPrefix { get; set; } = "statekit";

    /// <summary>
    /// Gets or sets how long the store waits for Redis to answer one operation (default 5 s); it is also the
    /// asynchronous timeout of a multiplexer the store creates. A write that runs out of time may still be applied later: it raises <see cref="StateStoreUnavailableException"/> with
    /// <see cref="StateStoreUnavailableException.WriteMayHaveApplied"/> set.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets how many replicas must have a write before it is acknowledged: after each write the store runs
    /// <c>WAIT</c> for that many replicas, up to 80% of <see cref="OperationTimeout"/> (so Redis' answer arrives within it). A write the replicas did not confirm in
    /// time is applied on the primary but raises <see cref="StateStoreUnavailableException"/> with
    /// <see cref="StateStoreUnavailableException.WriteMayHaveApplied"/> set: a failover to a replica that lacks it would
    /// lose it, so it is not promised. 0 (the default) waits for none, as Redis itself acknowledges.
    /// </summary>
    /// <value>The default value is 0; at most 16.</value>
    [Range(0, 16)]
    public int MinReplicaAcknowledgements { get; set; }

    /// <summary>Gets or sets how many keys one SCAN step asks for when listing or purging (default 1,000).</summary>
    [Range(1, int.MaxValue)]
    public int ScanPageSize { get; set; } = 1000;

    /// <summary>
    /// Gets or sets the key layout (default <see cref="RedisKeyLayout.Automatic"/>: the layout recorded under the prefix,
    /// else hash slots on a Redis Cluster and single-server otherwise). Set <see cref="RedisKeyLayout.HashSlots"/> on one
    /// server to keep the cluster's rules (batches inside one shard) before moving to a cluster.
    /// </summary>
    public RedisKeyLayout KeyLayout { get; set; }
}
