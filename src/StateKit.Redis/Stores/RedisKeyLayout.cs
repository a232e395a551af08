namespace StateKit.Redis;

/// <summary>How <see cref="RedisStateStore"/> lays its keys out in Redis (<see cref="RedisStateStoreOptions.KeyLayout"/>).</summary>
public enum RedisKeyLayout
{
    /// <summary>
    /// The layout already recorded under the prefix (the <c>{prefix}layout</c> key); for a new prefix,
    /// <see cref="HashSlots"/> on a Redis Cluster and <see cref="SingleServer"/> otherwise. The default.
    /// </summary>
    Automatic = 0,

    /// <summary>Layout 1: one Redis server (with replicas or Sentinel); batches may span any keys.</summary>
    SingleServer = 1,

    /// <summary>
    /// Layout 2: a hash tag of each key's shard (a scope, a session, the first two <c>/</c> segments of other keys) in
    /// its Redis key, so a shard lives in one hash slot of a Redis Cluster; a batch must stay inside one shard. Works on
    /// one server too (so data can later move to a cluster without changing its rules).
    /// </summary>
    HashSlots = 2,
}
