namespace StateKit;

/// <summary>Conveniences over <see cref="IStateStore"/>.</summary>
public static class StateStoreExtensions
{
    /// <summary>Gets what a store guarantees beyond the common contract.</summary>
    /// <param name="store">The store.</param>
    /// <returns>Its declared capabilities; <see cref="StateStoreCapabilities.None"/> when it declares none.</returns>
    public static StateStoreCapabilities GetCapabilities(this IStateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.GetService<IStateStoreCapabilities>()?.Capabilities ?? StateStoreCapabilities.None;
    }

    /// <summary>
    /// Asks the store pipeline for an object of type <typeparamref name="T"/> (see <see cref="IStateStore.GetService"/>):
    /// finds a backend or a capability however many decorators wrap it.
    /// </summary>
    /// <typeparam name="T">The type asked for.</typeparam>
    /// <param name="store">The outermost store.</param>
    /// <param name="serviceKey">An optional key; <see langword="null"/> for none.</param>
    /// <returns>The object, or <see langword="null"/> when the pipeline has none.</returns>
    public static T? GetService<T>(this IStateStore store, object? serviceKey = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.GetService(typeof(T), serviceKey) as T;
    }

    /// <summary>
    /// Describes a store pipeline from the outside in, for logs and tests: each layer's stage name joined by <c> &gt; </c>,
    /// ending with the backend, such as <c>telemetry &gt; l1 &gt; write-behind &gt; fallback[local] &gt; sqlite</c>. A fallback
    /// chain lists its fallback stores by name and goes on with its primary; tier routing shows as <c>routing</c> in front
    /// of the default store. Layers of the application show their type name.
    /// </summary>
    /// <param name="store">The outermost store.</param>
    /// <returns>The description.</returns>
    public static string DescribePipeline(this IStateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return string.Join(" > ", PipelineLayers(store).Select(layer => layer switch
        {
            Internal.TierRoutingStateStore => "routing",
            FallbackStateStore fallback => "fallback[" + string.Join(" | ", fallback.FallbackNames ?? fallback.Stores.Skip(1).Select(s => s.Name).ToArray()) + "]",
            _ => LayerName(layer),
        }));
    }

    /// <summary>
    /// The layers of a pipeline from the outside in, ending with the backend: through every <see cref="DelegatingStateStore"/>,
    /// a fallback chain's primary and tier routing's default store (a fallback's own stores are pipelines of their own).
    /// </summary>
    /// <param name="store">The outermost store.</param>
    /// <returns>The layers.</returns>
    internal static IEnumerable<IStateStore> PipelineLayers(IStateStore store)
    {
        var layer = store;
        while (layer is not null)
        {
            yield return layer;
            layer = layer switch
            {
                Internal.TierRoutingStateStore routing => routing.DefaultStore,
                FallbackStateStore fallback => fallback.Stores[0],
                DelegatingStateStore delegating => delegating.Inner,
                _ => null,
            };
        }
    }

    private static string LayerName(IStateStore layer) => layer switch
    {
        Internal.InstrumentedStateStore => "telemetry",
        L1StateStore => "l1",
        EncryptingStateStore => "encryption",
        WriteBehindStateStore => "write-behind",
        SpillingStateStore => "memory-budget",
        _ => layer.GetType().Name is var name && name.EndsWith("StateStore", StringComparison.Ordinal) && name.Length > "StateStore".Length
            ? name[..^"StateStore".Length].ToLowerInvariant()
            : layer.GetType().Name,
    };

    /// <summary>Asks the store pipeline for an object of type <typeparamref name="T"/> and fails when there is none.</summary>
    /// <typeparam name="T">The type asked for.</typeparam>
    /// <param name="store">The outermost store.</param>
    /// <returns>The object.</returns>
    /// <exception cref="InvalidOperationException">No store of the pipeline is or provides a <typeparamref name="T"/>.</exception>
    public static T GetRequiredService<T>(this IStateStore store)
        where T : class
        => store.GetService<T>() ?? throw new InvalidOperationException($"The '{store.Name}' store pipeline has no {typeof(T).Name}.");

    /// <summary>
    /// Appends items to a list so that a retry after an outcome the store could not tell (a
    /// <see cref="StateStoreUnavailableException"/> with <see cref="StateStoreUnavailableException.WriteMayHaveApplied"/>)
    /// never appends them twice: the length is read first, and after such a failure the items are looked for, in one
    /// piece, from that position on; only when they are not there is the append made again.
    /// </summary>
    /// <remarks>
    /// Costs one more round trip than <see cref="IStateStore.ListAppendAsync"/>. Limits: identical items appended by
    /// someone else after the length was read count as this append's; a trim of the list's head between the failure and
    /// the check can hide the items (then they are appended again). A failure the store says did not apply is retried
    /// as it is. After <paramref name="maxAttempts"/> the last failure is thrown.
    /// </remarks>
    /// <param name="store">The store.</param>
    /// <param name="key">The list key.</param>
    /// <param name="items">The items, in order; the store keeps its own copies.</param>
    /// <param name="timeToLive">The list's time to live (see <see cref="IStateStore.ListAppendAsync"/>).</param>
    /// <param name="maxAttempts">How many appends may be tried in all; at least 1.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The length of the list once the items are in it.</returns>
    /// <exception cref="StateStoreUnavailableException">The store failed on every attempt.</exception>
    public static async ValueTask<long> ListAppendOnceAsync(this IStateStore store, string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, int maxAttempts = 3, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        var before = await store.ListLengthAsync(key, cancellationToken).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await store.ListAppendAsync(key, items, timeToLive, cancellationToken).ConfigureAwait(false);
            }
            catch (StateStoreUnavailableException ex) when (attempt < maxAttempts && !cancellationToken.IsCancellationRequested)
            {
                if (ex.WriteMayHaveApplied && items.Count > 0 && await FindAfterAsync(store, key, items, before, cancellationToken).ConfigureAwait(false) is { } length)
                {
                    return length;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The list's length when <paramref name="items"/> are in it, in one piece, at or after <paramref name="from"/>; otherwise <see langword="null"/>.</summary>
    private static async ValueTask<long?> FindAfterAsync(IStateStore store, string key, IReadOnlyList<ReadOnlyMemory<byte>> items, long from, CancellationToken cancellationToken)
    {
        var tail = await store.ListRangeAsync(key, from, -1, cancellationToken).ConfigureAwait(false);
        for (var start = 0; start + items.Count <= tail.Count; start++)
        {
            var match = true;
            for (var i = 0; i < items.Count && match; i++)
            {
                match = tail[start + i].Span.SequenceEqual(items[i].Span);
            }

            if (match)
            {
                return from + tail.Count;
            }
        }

        return null;
    }

    /// <summary>Appends one item to a list, creating it when missing.</summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The list key.</param>
    /// <param name="item">The item; the store keeps its own copy.</param>
    /// <param name="timeToLive">The list's time to live (see <see cref="IStateStore.ListAppendAsync"/>): <see langword="null"/> for the store's default, <see cref="StateTimeToLive.KeepCurrent"/> to keep the list's.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The length of the list after the append.</returns>
    public static ValueTask<long> ListAppendAsync(this IStateStore store, string key, ReadOnlyMemory<byte> item, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.ListAppendAsync(key, new[] { item }, timeToLive, cancellationToken);
    }
}
