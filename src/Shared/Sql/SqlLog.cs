using Microsoft.Extensions.Logging;

namespace StateKit.Sql;

/// <summary>Source-generated log messages of the SQL stores (event ids 100–149; compiled into each SQL package).</summary>
internal static partial class SqlLog
{
    [LoggerMessage(100, LogLevel.Warning, "The '{Store}' store retries {Operation} after a transient failure (attempt {Attempt} of {MaxAttempts}, next in {DelayMs:0} ms).")]
    public static partial void Retrying(ILogger logger, Exception exception, string store, string operation, int attempt, int maxAttempts, double delayMs);

    [LoggerMessage(101, LogLevel.Warning, "The '{Store}' store gave up on {Operation} after {Attempts} attempts (a write may have been applied: {MayHaveApplied}).")]
    public static partial void GaveUp(ILogger logger, Exception exception, string store, string operation, int attempts, bool mayHaveApplied);
}
