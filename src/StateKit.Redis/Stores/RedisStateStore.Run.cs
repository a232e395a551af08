using StackExchange.Redis;
using StateKit.Redis.Internal;

namespace StateKit.Redis;

/// <content>Running one operation: connection, cluster refusal, timeout, replica acknowledgement and the mapping of Redis failures.</content>
public sealed partial class RedisStateStore
{
    /// <summary>
    /// Waits until <see cref="RedisStateStoreOptions.MinReplicaAcknowledgements"/> replicas have every write this
    /// connection sent so far (this one included); fewer in time is not an acknowledgement. On a cluster the WAIT goes
    /// to the primary of the written key's hash slot (a batch's first key).
    /// </summary>
    private async Task WaitForReplicasAsync(IDatabase db, RedisKeys keys, string operation, string? key, string? slotKey)
    {
        var wanted = _options.MinReplicaAcknowledgements;
        // The server gives up at 80% of the operation timeout, so its answer ("only n replicas") arrives before the
        // client's own timeout (the same operation timeout on a multiplexer the store created) turns it into a timeout.
        var timeout = Math.Max(1, (long)(_options.OperationTimeout.TotalMilliseconds * 0.8));

        // WAIT counts the writes of the connection it arrives on: on a cluster, the connection to the key's primary.
        var wait = _connection.IsCluster(db.Multiplexer)
            ? PrimaryOf(db.Multiplexer, keys, slotKey, operation).ExecuteAsync("WAIT", wanted, timeout)
            : db.ExecuteAsync("WAIT", wanted, timeout);
        var acknowledged = (long)(await wait.WaitAsync(_options.OperationTimeout * 2) /* WAIT answers by its own timeout; this only bounds a lost reply */.ConfigureAwait(false));
        if (acknowledged < wanted)
        {
            throw new StateStoreUnavailableException(
                Name,
                operation,
                key,
                $"the write reached the primary but only {acknowledged} of the {wanted} replicas required (MinReplicaAcknowledgements) confirmed it within {timeout} ms; a failover now could lose it, so it is not acknowledged.",
                innerException: null,
                writeMayHaveApplied: true);
        }
    }

    private async Task<T> RunAsync<T>(string operation, string? key, bool write, Func<IDatabase, RedisKeys, Task<T>> action, CancellationToken cancellationToken, string? slotKey = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var db = await _connection.DatabaseAsync(cancellationToken).ConfigureAwait(false);
            var keys = _keys ?? await ResolveLayoutAsync(db, operation).WaitAsync(_options.OperationTimeout, cancellationToken).ConfigureAwait(false);

            // The store bounds the wait itself, also on a multiplexer it was given (whose timeouts it does not set).
            // A write is awaited to its outcome or the timeout, never abandoned on cancellation: once sent it cannot
            // be called back, and cancelling the wait would only hide whether it was applied.
            var pending = action(db, keys);
            var result = write
                ? await pending.WaitAsync(_options.OperationTimeout).ConfigureAwait(false)
                : await pending.WaitAsync(_options.OperationTimeout, cancellationToken).ConfigureAwait(false);
            if (write && _options.MinReplicaAcknowledgements > 0)
            {
                await WaitForReplicasAsync(db, keys, operation, key, slotKey ?? key).ConfigureAwait(false);
            }

            _connection.Succeeded();
            return result;
        }
        catch (RedisConnectionException ex)
        {
            _connection.Failed(operation, ex);

            // "No connection is available" means the command was never sent; any other connection failure may
            // have come after the server received it.
            var maybeApplied = write && ex.FailureType != ConnectionFailureType.UnableToResolvePhysicalConnection;
            throw new StateStoreUnavailableException(Name, operation, key, $"Redis is not reachable ({ex.FailureType}).", ex, maybeApplied);
        }
        catch (TimeoutException ex)
        {
            _connection.Failed(operation, ex);
            throw new StateStoreUnavailableException(Name, operation, key, $"Redis did not answer within {_options.OperationTimeout.TotalMilliseconds:0} ms.", ex, writeMayHaveApplied: write);
        }
        catch (RedisCommandException ex)
        {
            // Refused by the client before it was sent (CROSSSLOT: keys of one command in different hash slots).
            throw new StateStoreConfigurationException(Name, operation, key, $"Redis refused the command before sending it: {ex.Message}", ex);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("WRONGTYPE", StringComparison.Ordinal))
        {
            throw WrongType(operation, key, ex);
        }
        catch (RedisServerException ex)
        {
            throw new StateStoreUnavailableException(Name, operation, key, $"Redis refused the command: {ex.Message}", ex);
        }
        catch (RedisException ex)
        {
            _connection.Failed(operation, ex);
            throw new StateStoreUnavailableException(Name, operation, key, $"Redis failed: {ex.Message}", ex, writeMayHaveApplied: write);
        }
        catch (ObjectDisposedException ex) when (ex.ObjectName != nameof(RedisConnection))
        {
            throw new StateStoreUnavailableException(Name, operation, key, "the Redis connection was closed.", ex, writeMayHaveApplied: write);
        }
    }
}
