using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace StateKit.Tests;

/// <summary>A logger that keeps what it is given, for tests that check what is logged.</summary>
/// <typeparam name="T">The category.</typeparam>
public sealed class CapturingLogger<T> : ILogger<T>
{
    /// <summary>Gets what was logged, in order.</summary>
    public ConcurrentQueue<(int EventId, LogLevel Level, string Message, Exception? Exception)> Entries { get; } = new();

    /// <summary>The entries with one event id.</summary>
    public IReadOnlyList<(int EventId, LogLevel Level, string Message, Exception? Exception)> Events(int eventId) =>
        Entries.Where(e => e.EventId == eventId).ToArray();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((eventId.Id, logLevel, formatter(state, exception), exception));
}
