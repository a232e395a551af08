using System.Collections.Concurrent;

namespace StateKit.Internal;

/// <content>Get-or-create with one factory run per key per instance (stampede protection).</content>
internal sealed partial class StateProvider
{
    private readonly ConcurrentDictionary<string, Task> _creating = new(StringComparer.Ordinal);

    public async ValueTask<StateValue<T>> GetOrCreateAsync<T>(StateScope scope, string key, Func<CancellationToken, ValueTask<T>> factory, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        while (true)
        {
            if (await GetAsync<T>(scope, key, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return existing;
            }

            var run = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var storeKey = ScopeKeys.Value(scope, key);
            var flight = _creating.GetOrAdd(storeKey, run.Task);
            if (flight != run.Task)
            {
                try
                {
                    await flight.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // the running caller was cancelled, not this one: try again (this caller may run the factory now)
                }

                continue; // read what the run stored
            }

            try
            {
                var created = await CreateAsync(scope, key, factory, timeToLive, cancellationToken).ConfigureAwait(false);
                run.SetResult();
                if (created is not null)
                {
                    return created;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                run.SetCanceled(cancellationToken);
                throw;
            }
            catch (Exception ex)
            {
                run.SetException(ex);
                throw;
            }
            finally
            {
                _creating.TryRemove(new KeyValuePair<string, Task>(storeKey, run.Task));
            }
        }
    }

    /// <summary>Runs the factory and stores its value where none exists; <see langword="null"/> when another writer created one first.</summary>
    private async ValueTask<StateValue<T>?> CreateAsync<T>(StateScope scope, string key, Func<CancellationToken, ValueTask<T>> factory, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        if (await GetAsync<T>(scope, key, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return existing; // created while this caller waited for its turn
        }

        var value = await factory(cancellationToken).ConfigureAwait(false);
        try
        {
            var options = new StateSetOptions<T> { ExpectedVersion = 0 };
            if (timeToLive is { } ttl)
            {
                options.TimeToLive = ttl;
            }

            var version = await SetAsync(scope, key, value, options, cancellationToken).ConfigureAwait(false);
            return await GetAsync<T>(scope, key, cancellationToken).ConfigureAwait(false) ?? new StateValue<T>(key, value, version, null);
        }
        catch (StateConflictException)
        {
            return null; // another instance created it first: its value wins
        }
    }
}
