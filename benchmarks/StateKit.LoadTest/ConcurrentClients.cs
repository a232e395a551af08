using System.Diagnostics;
using System.Globalization;
using StateKit.Benchmarks;

namespace StateKit.LoadTest;

/// <summary>
/// Many clients at once, each with its own session, looping get → update (a new turn) → append a message to the
/// session's history for a fixed time. Afterwards every session must show exactly the turns and history items its
/// client was told succeeded: anything else is a lost update.
/// </summary>
internal static class ConcurrentClients
{
    public sealed record Result(string Row, long Errors, long LostUpdates, IReadOnlyList<string> FirstErrors);

    public static async Task<Result> RunAsync(string kind, int clients, TimeSpan duration)
    {
        await using var app = new LoadServices(kind);
        var sessions = new Session<ChatState>[clients];
        await LoadServices.RateAsync(clients, 64, async i => sessions[i] = await app.Sessions.CreateAsync(LoadServices.NewState()));

        var latencies = new List<double>[clients];
        var turns = new long[clients];
        var appended = new long[clients];
        var errors = 0L;
        var firstErrors = new List<string>();
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var mine = latencies[c] = new List<double>(4096);
            var id = sessions[c].Id;
            var message = new[] { new ChatMessage("user", $"client {c} says hello") };
            while (Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Yield(); // a request at a time per client, interleaved with all the others
                var start = Stopwatch.GetTimestamp();
                try
                {
                    var session = await app.Sessions.GetAsync(id) ?? throw new InvalidOperationException($"session {id} disappeared");
                    await app.Sessions.UpdateAsync(id, s => s.NextTurn());
                    turns[c]++;
                    await app.Provider.AppendAsync(session.Scope, "history", message);
                    appended[c]++;
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref errors);
                    lock (firstErrors)
                    {
                        if (firstErrors.Count < 5)
                        {
                            firstErrors.Add(ex.GetType().Name + ": " + ex.Message);
                        }
                    }
                }
            }
        })));
        var elapsed = watch.Elapsed.TotalSeconds;

        long lost = 0;
        for (var c = 0; c < clients; c++)
        {
            var session = await app.Sessions.GetAsync(sessions[c].Id);
            var history = await app.Provider.CountAsync(sessions[c].Scope, "history");
            lost += Math.Abs((session?.State.Turns ?? 0) - turns[c]) + Math.Abs(history - appended[c]);
        }

        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        var row = string.Create(
            CultureInfo.InvariantCulture,
            $"| {kind} | {all.Length / elapsed:N0} | {Format(Percentile(all, 0.50))} | {Format(Percentile(all, 0.99))} | {Format(Percentile(all, 0.999))} | {errors} | {lost} |");
        return new Result(row, errors, lost, firstErrors);
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * p))];

    private static string Format(double micros) => micros >= 1000
        ? (micros / 1000).ToString("0.0", CultureInfo.InvariantCulture) + " ms"
        : micros.ToString("0", CultureInfo.InvariantCulture) + " µs";
}
