using Microsoft.Extensions.Logging;

namespace StateKit.File.Internal;

/// <summary>Source-generated log messages of the file store.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "The file store replaced the unreadable entry file '{Path}' on an unconditional {Operation}: {Problem}")]
    public static partial void ReplacedCorruptEntry(ILogger logger, string path, string operation, string problem);

    [LoggerMessage(2, LogLevel.Warning, "The file store dropped a torn record of {Bytes} bytes at the end of list file '{Path}' (an append interrupted by a crash).")]
    public static partial void DroppedTornTail(ILogger logger, string path, long bytes);

    [LoggerMessage(4, LogLevel.Error, "The file store could not cut list file '{Path}' back after a failed append: {Problem}")]
    public static partial void AppendNotUndone(ILogger logger, string path, string problem);

    [LoggerMessage(3, LogLevel.Warning, "The file store skipped '{Path}' while listing: {Problem}")]
    public static partial void SkippedUnreadable(ILogger logger, string path, string problem);
}
