using StateKit.Benchmarks.Raw;

namespace StateKit.Benchmarks;

/// <summary>A StateKit server store and its hand-written baseline on the same server, created and removed together.</summary>
internal sealed class ServerTargets : IAsyncDisposable
{
    private readonly BenchmarkStore _store;

    private ServerTargets(BenchmarkStore store, IRawStore raw)
    {
        _store = store;
        Raw = raw;
    }

    public IStateStore Store => _store.Store;

    public IRawStore Raw { get; }

    /// <summary>Creates both sides for <paramref name="kind"/>: sqlite, postgres or redis.</summary>
    public static async Task<ServerTargets> CreateAsync(string kind)
    {
        var store = BenchmarkStore.Create(kind);
        IRawStore raw = kind switch
        {
            "sqlite" => await RawSqlite.CreateAsync(store.Location),
            "postgres" => await RawPostgres.CreateAsync(store.Location),
            _ => await RawRedis.CreateAsync(store.Location),
        };
        return new ServerTargets(store, raw);
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        await Raw.DisposeAsync();
        await _store.RemoveData();
    }
}
