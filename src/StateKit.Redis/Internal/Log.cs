using Microsoft.Extensions.Logging;

namespace StateKit.Redis.Internal;

/// <summary>Source-generated log messages of the Redis store (event ids 200–249).</summary>
internal static partial class Log
{
    [LoggerMessage(200, LogLevel.Warning, "The Redis store lost its connection during {Operation}; it keeps its multiplexer and retries on the next call.")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception, string operation);

    [LoggerMessage(201, LogLevel.Warning, "The Redis store replaced its multiplexer after it stayed disconnected for {Seconds:0.#} s (replacement {Count}).")]
    public static partial void Rebuilt(ILogger logger, double seconds, int count);

    [LoggerMessage(202, LogLevel.Information, "The Redis store is connected again.")]
    public static partial void Reconnected(ILogger logger);
}
