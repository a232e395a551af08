using System.Globalization;

namespace StateKit.LoadTest;

/// <summary>
/// Creates <c>n</c> sessions of ~1 KB, then reads and updates each once, with 64 concurrent workers; on the memory
/// store also reports the managed heap per live session (after a full collection), store and manager bookkeeping included.
/// </summary>
internal static class SessionScale
{
    private const int Workers = 64;

    public static async Task<string> RunAsync(string kind, int n)
    {
        var before = FullCollect();
        await using var app = new LoadServices(kind);
        var ids = new string[n];
        var create = await LoadServices.RateAsync(n, Workers, async i => ids[i] = (await app.Sessions.CreateAsync(LoadServices.NewState())).Id);
        var perSession = kind == "memory" ? ((FullCollect() - before) / (double)n).ToString("N0", CultureInfo.InvariantCulture) + " B" : "— (in the server)";
        var get = await LoadServices.RateAsync(n, Workers, async i =>
        {
            if (await app.Sessions.GetAsync(ids[i]) is null)
            {
                throw new InvalidOperationException($"session {ids[i]} is missing");
            }
        });
        var update = await LoadServices.RateAsync(n, Workers, async i => await app.Sessions.UpdateAsync(ids[i], s => s.NextTurn()));
        GC.KeepAlive(ids);
        return string.Create(CultureInfo.InvariantCulture, $"| {kind} | {perSession} | {create:N0} | {get:N0} | {update:N0} |");
    }

    private static long FullCollect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
