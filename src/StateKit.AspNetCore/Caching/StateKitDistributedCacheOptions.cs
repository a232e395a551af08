namespace StateKit.AspNetCore;

/// <summary>Options of the <c>IDistributedCache</c> that <c>AddStateKitDistributedCache()</c> registers on the StateKit store.</summary>
public sealed class StateKitDistributedCacheOptions
{
    /// <summary>Gets or sets the store key prefix of cache entries (default <c>distributed-cache/</c>); each cache key becomes one escaped segment after it.</summary>
    public string KeyPrefix { get; set; } = "distributed-cache/";
}
