using StackExchange.Redis;
using StateKit.Internal;

namespace StateKit.Redis;

/// <content>The change feed: Redis pub/sub on the store's own channel.</content>
public sealed partial class RedisStateStore : IStateChangeFeed
{
    private readonly InProcessChangeFeed _fanout = new();
    private readonly SemaphoreSlim _feedStarting = new(1, 1);
    private ChannelMessageQueue[]? _feedQueues;
    private IConnectionMultiplexer? _feedMultiplexer;

    /// <inheritdoc />
    /// <remarks>
    /// Across processes and instances: every writing script PUBLISHes its change on the store's channel
    /// (<c>{RedisKeyPrefix}:{key prefix}:changes</c>) in the same atomic run as the change, so a notice exists exactly
    /// when the change happened; no keyspace notifications are needed. In the hash-slot layout on Redis 7 the feed is
    /// sharded: the script SPUBLISHes on its bucket's channel, in its keys' hash slot, and the feed subscribes to every
    /// bucket's channel (one ordered queue each). Pub/sub is at most once while a connection is
    /// down: a failed or restored connection is reported as <see cref="StateStoreChangeKind.Resync"/>. Expiry and
    /// <see cref="PurgeExpiredAsync"/> are not reported (an expired entry is never returned anyway).
    /// </remarks>
    /// <exception cref="StateStoreUnavailableException">Redis could not be reached to subscribe.</exception>
    public async ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(onChange);
        _guard.Enter(cancellationToken);
        await StartFeedAsync(cancellationToken).ConfigureAwait(false);
        return await _fanout.SubscribeAsync(prefix, onChange, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask StartFeedAsync(CancellationToken cancellationToken)
    {
        if (_feedQueues is not null)
        {
            return;
        }

        await _feedStarting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_feedQueues is not null)
            {
                return;
            }

            // The layout first: a notice names the Redis key, which only the layout turns back into a StateKit key; and
            // the layout says which channels carry the notices (one, or one per bucket with a sharded feed).
            var keys = await RunAsync("Subscribe", null, write: false, (_, k) => Task.FromResult(k), cancellationToken).ConfigureAwait(false);
            var multiplexer = (await _connection.DatabaseAsync(cancellationToken).ConfigureAwait(false)).Multiplexer;
            var subscriber = multiplexer.GetSubscriber();
            // One queue per channel: each hands its notices on in order, and a key's notices share its channel.
            var subscribing = keys.Channels.Select(channel =>
                subscriber.SubscribeAsync(keys.ShardedFeed ? RedisChannel.Sharded(channel) : RedisChannel.Literal(channel))).ToArray();
            ChannelMessageQueue[] queues;
            try
            {
                queues = await Task.WhenAll(subscribing).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Leave nothing half subscribed (only this feed's own queues: the multiplexer may be the app's).
                await Task.WhenAll(subscribing.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result.UnsubscribeAsync())).ConfigureAwait(false);
                throw new StateStoreUnavailableException(Name, "Subscribe", null, "could not subscribe to the change channel: " + ex.Message, ex);
            }

            foreach (var queue in queues)
            {
                queue.OnMessage(message => OnNotice(message.Message));
            }

            multiplexer.ConnectionFailed += OnConnectionChanged;
            multiplexer.ConnectionRestored += OnConnectionChanged;
            _feedMultiplexer = multiplexer;
            _feedQueues = queues;
        }
        finally
        {
            _feedStarting.Release();
        }
    }

    private void OnConnectionChanged(object? sender, ConnectionFailedEventArgs e) => _fanout.Resync();

    /// <summary>Parses <c>kind|version|redis key</c> and passes on the notices of this store's keys.</summary>
    private void OnNotice(RedisValue message)
    {
        var payload = (string?)message;
        if (payload is null || payload.Length < 4 || payload[1] != '|')
        {
            return;
        }

        var bar = payload.IndexOf('|', 2);
        if (bar < 0 || !long.TryParse(payload.AsSpan(2, bar - 2), out var version))
        {
            return;
        }

        if (_keys is { } keys && keys.TryParse(payload.AsSpan(bar + 1), out _, out var key))
        {
            _fanout.Publish(payload[0], key, version);
        }
    }

    private async ValueTask StopFeedAsync()
    {
        if (_feedQueues is { } queues)
        {
            try
            {
                await Task.WhenAll(queues.Select(q => q.UnsubscribeAsync())).ConfigureAwait(false);
            }
            catch (RedisException)
            {
                // the connection is gone: nothing to unsubscribe from
            }
        }

        if (_feedMultiplexer is { } multiplexer)
        {
            multiplexer.ConnectionFailed -= OnConnectionChanged;
            multiplexer.ConnectionRestored -= OnConnectionChanged;
        }

        _feedStarting.Dispose();
    }
}
