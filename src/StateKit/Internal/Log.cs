using Microsoft.Extensions.Logging;

namespace StateKit.Internal;

/// <summary>Source-generated log messages of the core package (event ids 1–99).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "StateKit purged {Count} expired entries from the '{Store}' store.")]
    public static partial void Purged(ILogger logger, string store, long count);

    [LoggerMessage(2, LogLevel.Warning, "StateKit could not purge expired entries from the '{Store}' store; it retries on the next interval.")]
    public static partial void PurgeFailed(ILogger logger, Exception exception, string store);

    [LoggerMessage(20, LogLevel.Debug, "Session cleanup for {SessionType} removed {Count} expired sessions.")]
    public static partial void SessionsCleaned(ILogger logger, string sessionType, int count);

    [LoggerMessage(21, LogLevel.Warning, "Session cleanup for {SessionType} failed; it runs again at the next interval.")]
    public static partial void SessionCleanupFailed(ILogger logger, Exception exception, string sessionType);

    [LoggerMessage(23, LogLevel.Warning, "The session sweep for {SessionName} failed; it runs again after the next OrphanSweepInterval.")]
    public static partial void OrphanSweepFailed(ILogger logger, Exception exception, string sessionName);

    [LoggerMessage(22, LogLevel.Information, "The session sweep for {SessionName} cleared {Count} scopes whose sessions had all ended while no instance tracked them.")]
    public static partial void OrphanScopesCleared(ILogger logger, string sessionName, int count);

    [LoggerMessage(30, LogLevel.Warning, "StateKit could not write or remove a spill file in '{Directory}'; the entries stay in memory, over the budget, until a later spill succeeds.")]
    public static partial void SpillFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(40, LogLevel.Warning, "The fallback chain switched from '{From}' (#{FromIndex}) to '{To}' (#{ToIndex}): {Reason}")]
    public static partial void FallbackSwitched(ILogger logger, string from, int fromIndex, string to, int toIndex, string reason);

    [LoggerMessage(41, LogLevel.Warning, "The fallback chain could not copy '{Key}' to the fallback '{Store}'; it retries in the background and does not serve that key from there until then.")]
    public static partial void FallbackCopyFailed(ILogger logger, Exception exception, string store, string key);

    [LoggerMessage(43, LogLevel.Warning, "A fallback chain's {Change} callback or handler threw; the chain goes on.")]
    public static partial void FallbackCallbackFailed(ILogger logger, Exception exception, string change);

    [LoggerMessage(42, LogLevel.Warning, "Replay found a conflict on '{Key}': it changed on the primary ({PrimaryVersion}) and on the fallback ({FallbackVersion}) since version {BaseVersion}; resolved by {Resolution}.")]
    public static partial void FallbackConflict(ILogger logger, string key, long baseVersion, long primaryVersion, long fallbackVersion, FallbackConflictPolicy resolution);

    [LoggerMessage(60, LogLevel.Information, "StateKit store '{Store}': type {Type}, pipeline {Pipeline}.")]
    public static partial void StoreChosen(ILogger logger, string store, string type, string pipeline);

    [LoggerMessage(61, LogLevel.Warning, "StateKit keeps state in process memory: no store type was configured (StateKit:Store:Type, or UseRedis/UsePostgres/UseSqlite/UseFileSystem), so everything is lost when the process stops. Choose a store, or UseMemory() to say this is intended.")]
    public static partial void MemoryByDefault(ILogger logger);

    [LoggerMessage(62, LogLevel.Warning, "The configuration key '{Path}' is not a StateKit setting and is ignored (a typo?). Known keys: {Known}.")]
    public static partial void UnknownSetting(ILogger logger, string path, string known);

    [LoggerMessage(50, LogLevel.Warning, "Write-behind could not flush every acknowledged write ({Pending} keys wait); they stay in the journal and are retried.")]
    public static partial void WriteBehindFlushFailed(ILogger logger, Exception exception, int pending);

    [LoggerMessage(51, LogLevel.Warning, "Write-behind found '{Key}' at version {StoreVersion} in the store when flushing version {Version}: another writer; the store's value stays.")]
    public static partial void WriteBehindConflict(ILogger logger, string key, long version, long storeVersion);
}
