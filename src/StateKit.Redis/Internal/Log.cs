using Microsoft.Extensions.Logging;

namespace StateKit.Redis.Internal;

/// <summary>Source-generated log messages of the Redis store (event ids 200–249).</summary>
internal static partial class Log
{
    [LoggerMessage(200, LogLevel.Warning, "The Redis store lost its connection during {Operation}; the client reconnects on its own and the next call tries again.")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception, string operation);

    [LoggerMessage(202, LogLevel.Information, "The Redis store is connected again.")]
    public static partial void Reconnected(ILogger logger);

    [LoggerMessage(203, LogLevel.Error, "The Redis store's data went back in time during {Operation}: the write counter of a key bucket is {Found}, this instance had seen {Seen}. Acknowledged writes were lost (a failover to a lagging replica, a restart from an older snapshot, a flush); versions after them may be issued again.")]
    public static partial void VersionRegressed(ILogger logger, string operation, long seen, long found);
}
