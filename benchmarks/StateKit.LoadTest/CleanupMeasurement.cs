using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using StateKit.Testing;

namespace StateKit.LoadTest;

/// <summary>
/// Times one session cleanup pass with 10 and with 100,000 live sessions, 1,000 expired in both, on the memory
/// store: the pass must cost what is expired, not what is alive.
/// </summary>
internal static class CleanupMeasurement
{
    public sealed class ChatSession
    {
        public string User { get; set; } = "user";

        public int Turns { get; set; }
    }

    public static async Task RunAsync(int manyLive)
    {
        Console.WriteLine("| live sessions | expired | cleanup pass (median of 5) | per expired session |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (var live in new[] { 10, manyLive })
        {
            var times = new List<double>();
            for (var run = 0; run < 5; run++)
            {
                times.Add(await OnePassAsync(live, 1000));
            }

            times.Sort();
            Console.WriteLine($"| {live:N0} | 1,000 | {times[2]:0.0} ms | {times[2] * 1000 / 1000:0.0} µs |");
        }
    }

    private static async Task<double> OnePassAsync(int live, int expired)
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddStateKit().AddSessions<ChatSession>(o =>
        {
            o.IdleTimeout = TimeSpan.FromMinutes(20);
            o.AbsoluteTimeout = null;
        });
        await using var provider = services.BuildServiceProvider();
        var sessions = provider.GetRequiredService<ISessionManager<ChatSession>>();
        for (var i = 0; i < expired; i++)
        {
            await sessions.CreateAsync();
        }

        time.Advance(TimeSpan.FromMinutes(10));
        for (var i = 0; i < live; i++)
        {
            await sessions.CreateAsync();
        }

        time.Advance(TimeSpan.FromMinutes(11)); // the first 1,000 are past their idle timeout, the rest are not
        var watch = Stopwatch.StartNew();
        var found = await sessions.CleanupExpiredAsync();
        watch.Stop();
        if (found != expired)
        {
            throw new InvalidOperationException($"cleanup found {found}, expected {expired}");
        }

        return watch.Elapsed.TotalMilliseconds;
    }
}
