using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StateKit.Internal;

/// <summary>
/// The delivery side of an <see cref="IStateChangeFeed"/> inside one process: each subscription has a bounded queue and
/// one reader task, so a publisher (a store, under its locks) never waits for a subscriber and never runs its code. A
/// subscription whose queue overflowed gets one <see cref="StateStoreChangeKind.Resync"/> once it has caught up.
/// </summary>
internal sealed class InProcessChangeFeed : IStateChangeFeed
{
    private const int QueueCapacity = 16_384;
    private readonly ILogger _logger;
    private readonly object _changing = new();
    private volatile Subscription[] _subscriptions = [];

    public InProcessChangeFeed(ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Queues a notice for every subscription whose prefix matches; free when nobody subscribes.</summary>
    public void Publish(string key, StateStoreChangeKind kind, long version)
    {
        var subscriptions = _subscriptions;
        for (var i = 0; i < subscriptions.Length; i++)
        {
            subscriptions[i].Offer(new StateStoreChange(key, kind, version));
        }
    }

    /// <summary>
    /// Queues a notice in the one-letter form the server feeds carry (Redis messages, PostgreSQL payloads, the SQLite change
    /// log): s set, t touch, d delete, a list append, l other list change, r resync; other letters are ignored.
    /// </summary>
    public void Publish(char kind, string key, long version)
    {
        switch (kind)
        {
            case 's': Publish(key, StateStoreChangeKind.Set, version); break;
            case 't': Publish(key, StateStoreChangeKind.Touch, version); break;
            case 'd': Publish(key, StateStoreChangeKind.Delete, version); break;
            case 'a': Publish(key, StateStoreChangeKind.ListAppend, version); break;
            case 'l': Publish(key, StateStoreChangeKind.ListChange, version); break;
            case 'r': Resync(); break;
        }
    }

    /// <summary>Tells every subscription that notices may have been missed (a lost connection to the source of notices).</summary>
    public void Resync()
    {
        foreach (var subscription in _subscriptions)
        {
            subscription.MarkMissed();
        }
    }

    public ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(onChange);
        cancellationToken.ThrowIfCancellationRequested();
        var subscription = new Subscription(this, prefix, onChange);
        lock (_changing)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }

        subscription.Start();
        return ValueTask.FromResult<IAsyncDisposable>(subscription);
    }

    private void Remove(Subscription subscription)
    {
        lock (_changing)
        {
            _subscriptions = _subscriptions.Where(s => s != subscription).ToArray();
        }
    }

    private sealed class Subscription(InProcessChangeFeed feed, string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange) : IAsyncDisposable
    {
        // FullMode Wait: TryWrite then answers false on a full queue (with DropWrite it drops the notice and still answers
        // true, so an overflow went unnoticed and no resync was ever sent). TryWrite never waits.
        private readonly Channel<StateStoreChange> _queue = Channel.CreateBounded<StateStoreChange>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        private readonly CancellationTokenSource _stop = new();
        private Task _reader = Task.CompletedTask;
        private int _missed;
        private int _disposed;

        public void Start() => _reader = Task.Run(ReadAsync);

        public void Offer(StateStoreChange change)
        {
            if (change.Key.StartsWith(prefix, StringComparison.Ordinal) && !_queue.Writer.TryWrite(change))
            {
                Volatile.Write(ref _missed, 1);
            }
        }

        public void MarkMissed()
        {
            Volatile.Write(ref _missed, 1);
            _queue.Writer.TryWrite(new StateStoreChange(prefix, StateStoreChangeKind.Resync, 0)); // wakes the reader
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            feed.Remove(this);
            _queue.Writer.TryComplete();
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _reader.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            _stop.Dispose();
        }

        private async Task ReadAsync()
        {
            var token = _stop.Token;
            while (await _queue.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (_queue.Reader.TryRead(out var change))
                {
                    if (change.Kind == StateStoreChangeKind.Resync)
                    {
                        Volatile.Write(ref _missed, 0);
                    }

                    await DeliverAsync(change, token).ConfigureAwait(false);
                }

                if (Interlocked.Exchange(ref _missed, 0) == 1)
                {
                    await DeliverAsync(new StateStoreChange(prefix, StateStoreChangeKind.Resync, 0), token).ConfigureAwait(false);
                }
            }
        }

        private async ValueTask DeliverAsync(StateStoreChange change, CancellationToken token)
        {
            try
            {
                await onChange(change, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
            {
                feed._logger.LogWarning(ex, "A change feed subscriber failed on a notice for {Key}; the subscription goes on.", change.Key);
            }
        }
    }
}
