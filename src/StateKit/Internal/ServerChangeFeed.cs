using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StateKit.Internal;

/// <summary>
/// The shared part of a store's change feed that watches its server (PostgreSQL LISTEN, the SQLite change log): the
/// watching starts with the first subscriber (after the schema that produces notices is in place), runs on one
/// background loop until the feed is disposed, and hands notices to the subscriptions through an <see cref="InProcessChangeFeed"/>.
/// </summary>
internal abstract class ServerChangeFeed : IAsyncDisposable
{
    private readonly Func<CancellationToken, ValueTask> _ensureSchema;
    private readonly SemaphoreSlim _starting = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    protected ServerChangeFeed(Func<CancellationToken, ValueTask> ensureSchema, ILogger? logger)
    {
        _ensureSchema = ensureSchema;
        Logger = logger ?? NullLogger.Instance;
        Fanout = new InProcessChangeFeed(Logger);
    }

    /// <summary>Gets the subscriptions' side.</summary>
    protected InProcessChangeFeed Fanout { get; }

    protected ILogger Logger { get; }

    public async ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        return await Fanout.SubscribeAsync(prefix, onChange, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }

        _stop.Dispose();
        _starting.Dispose();
    }

    /// <summary>Starts watching: returns once notices are being collected, with the loop that goes on watching (it ends when its token is cancelled).</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The watch loop.</returns>
    protected abstract ValueTask<Func<CancellationToken, Task>> StartWatchingAsync(CancellationToken cancellationToken);

    private async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        if (_loop is not null)
        {
            return;
        }

        await _starting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_loop is null)
            {
                await _ensureSchema(cancellationToken).ConfigureAwait(false); // what produces notices exists from here on
                var watch = await StartWatchingAsync(cancellationToken).ConfigureAwait(false);
                var token = _stop.Token;
                _loop = Task.Run(() => watch(token));
            }
        }
        finally
        {
            _starting.Release();
        }
    }
}
