using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Internal;

/// <summary>
/// The default store when tiers are routed (<c>RouteTier</c>, <c>StateKit:Tiers</c>): each key goes to the store of its
/// tier, read from the key's first segment (<c>{tier}/{owner}/…</c>, see <see cref="ScopeKeys"/>; the session records
/// <c>sessions/…</c> and <c>session-scopes/…</c> go with <see cref="StateTier.Session"/>); every other key goes to the
/// default store.
/// </summary>
/// <remarks>
/// <para>A batch stays on one store: one whose keys belong to two is refused before anything is written.</para>
/// <para>
/// Listing keys, purging and the change feed cover every store, each store answering only for the keys routed to it
/// (a key written to the default store before its tier was routed is not listed). The router offers the change feed and
/// the version-preserving write only when every store does, and declares the capabilities all stores share.
/// </para>
/// <para>It owns the default store; the named stores belong to the container (they are keyed services too).</para>
/// </remarks>
internal sealed class TierRoutingStateStore : IStateStore, IStateChangeFeed, IStateStoreCapabilities, IVersionPreservingStateStore, IStateListCatalog
{
    private static readonly StateTier[] AllTiers = Enum.GetValues<StateTier>();

    private readonly IStateStore _default;

    /// <summary>Gets the store every tier without a route goes to (for <see cref="StateStoreExtensions.DescribePipeline"/>).</summary>
    internal IStateStore DefaultStore => _default;
    private readonly IStateStore?[] _byTier;
    private readonly IStateStore[] _distinct;
    private readonly bool _hasFeed;
    private readonly bool _preservesVersions;
    private readonly bool _cataloguesLists;

    private TierRoutingStateStore(IStateStore defaultStore, IStateStore?[] byTier)
    {
        _default = defaultStore;
        _byTier = byTier;
        _distinct = [defaultStore, .. byTier.OfType<IStateStore>().Where(s => !ReferenceEquals(s, defaultStore)).Distinct()];
        _hasFeed = _distinct.All(s => s.GetService<IStateChangeFeed>() is not null);
        _preservesVersions = _distinct.All(s => s.GetService<IVersionPreservingStateStore>() is not null);
        _cataloguesLists = _distinct.All(s => s.GetService<IStateListCatalog>() is not null);
        Capabilities = _distinct.Aggregate(~StateStoreCapabilities.None, (all, s) => all & s.GetCapabilities());
    }

    /// <inheritdoc />
    public string Name => _default.Name;

    /// <inheritdoc />
    public StateStoreCapabilities Capabilities { get; }

    /// <summary>Creates the router over <paramref name="defaultStore"/> and the named stores the tiers name.</summary>
    public static IStateStore Create(IStateStore defaultStore, IReadOnlyDictionary<StateTier, string> tiers, IServiceProvider services) =>
        Create(defaultStore, tiers.ToDictionary(t => t.Key, t => services.GetRequiredKeyedService<IStateStore>(t.Value)));

    /// <summary>Creates the router over <paramref name="defaultStore"/> and the stores of the routed tiers (not owned).</summary>
    public static TierRoutingStateStore Create(IStateStore defaultStore, IReadOnlyDictionary<StateTier, IStateStore> tiers)
    {
        var byTier = new IStateStore?[AllTiers.Max(t => (int)t) + 1];
        foreach (var (tier, store) in tiers)
        {
            byTier[(int)tier] = store;
        }

        return new TierRoutingStateStore(defaultStore, byTier);
    }

    /// <summary>The tier a store key belongs to (<see cref="StoreKeyLayout.TierOf"/>).</summary>
    internal static StateTier? TierOf(ReadOnlySpan<char> key) => StoreKeyLayout.TierOf(key);

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null && serviceType.IsInstanceOfType(this))
        {
            return serviceType == typeof(IStateChangeFeed) ? (_hasFeed ? this : null)
                : serviceType == typeof(IVersionPreservingStateStore) ? (_preservesVersions ? this : null)
                : serviceType == typeof(IStateListCatalog) ? (_cataloguesLists ? this : null)
                : this;
        }

        if (serviceType == typeof(IStateChangeFeed) || serviceType == typeof(IVersionPreservingStateStore) || serviceType == typeof(IStateListCatalog) || serviceType == typeof(IStateStoreCapabilities))
        {
            return null;
        }

        foreach (var store in _distinct)
        {
            if (store.GetService(serviceType, serviceKey) is { } service)
            {
                return service;
            }
        }

        return null;
    }

    /// <inheritdoc />
    public ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) => Route(key).GetAsync(key, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var groups = keys.GroupBy(Route).ToArray();
        if (groups.Length <= 1)
        {
            return await (groups.Length == 0 ? _default : groups[0].Key).GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
        }

        var found = new Dictionary<string, StateEntry>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            foreach (var (key, entry) in await group.Key.GetManyAsync(group.ToArray(), cancellationToken).ConfigureAwait(false))
            {
                found[key] = entry;
            }
        }

        return found;
    }

    /// <inheritdoc />
    public ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) =>
        Route(key).SetAsync(key, value, options, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var store = writes.Count == 0 ? _default : Route(writes[0].Key);
        for (var i = 1; i < writes.Count; i++)
        {
            var other = Route(writes[i].Key);
            if (!ReferenceEquals(other, store))
            {
                throw new NotSupportedException(
                    $"A batch writes '{writes[0].Key}' and '{writes[i].Key}', which belong to different stores ({store.Name} and {other.Name}) through tier routing; StateKit applies a batch on one store only. Nothing was written.");
            }
        }

        return store.SetManyAsync(writes, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
        (Route(key).GetService<IVersionPreservingStateStore>() ?? throw new NotSupportedException($"The store {Route(key).Name} cannot write at a given version."))
            .SetAtVersionAsync(key, value, version, expiresAt, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) =>
        Route(key).DeleteAsync(key, expectedVersion, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => Route(key).ExistsAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        Route(key).TouchAsync(key, timeToLive, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListKeysAsync(string prefix = "", CancellationToken cancellationToken = default) =>
        ListRoutedAsync(prefix, (s, t) => s.ListKeysAsync(prefix, t), static key => key, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<StateListInfo> ListListsAsync(string prefix = "", CancellationToken cancellationToken = default) =>
        ListRoutedAsync(prefix, (s, t) => s.GetRequiredService<IStateListCatalog>().ListListsAsync(prefix, t), static list => list.Key, cancellationToken);

    /// <summary>Lists every store a prefix can route to, each key from the store it routes to.</summary>
    private async IAsyncEnumerable<T> ListRoutedAsync<T>(string prefix, Func<IStateStore, CancellationToken, IAsyncEnumerable<T>> list, Func<T, string> keyOf, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        foreach (var store in StoresFor(prefix))
        {
            await foreach (var item in list(store, cancellationToken).ConfigureAwait(false))
            {
                if (ReferenceEquals(Route(keyOf(item)), store))
                {
                    yield return item;
                }
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        long removed = 0;
        foreach (var store in _distinct)
        {
            removed += await store.PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);
        }

        return removed;
    }

    /// <inheritdoc />
    public ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) =>
        Route(key).ListAppendAsync(key, items, timeToLive, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) =>
        Route(key).ListRangeAsync(key, start, stop, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default) => Route(key).ListLengthAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default) =>
        Route(key).ListTrimAsync(key, start, stop, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default) => Route(key).ListDeleteAsync(key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        Route(key).ListTouchAsync(key, timeToLive, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(onChange);
        if (!_hasFeed)
        {
            throw new NotSupportedException($"Not every store routed by tier has a change feed; ask GetService<IStateChangeFeed>() first.");
        }

        var subscriptions = new List<IAsyncDisposable>();
        try
        {
            foreach (var store in StoresFor(prefix))
            {
                var routed = store;
                subscriptions.Add(await store.GetService<IStateChangeFeed>()!.SubscribeAsync(
                    prefix,
                    (change, token) => change.Kind == StateStoreChangeKind.Resync || ReferenceEquals(Route(change.Key), routed) ? onChange(change, token) : ValueTask.CompletedTask,
                    cancellationToken).ConfigureAwait(false));
            }
        }
        catch
        {
            await DisposeAllAsync(subscriptions).ConfigureAwait(false);
            throw;
        }

        return new Subscriptions(subscriptions);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _default.DisposeAsync();

    private static async ValueTask DisposeAllAsync(List<IAsyncDisposable> subscriptions)
    {
        foreach (var subscription in subscriptions)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    private IStateStore Route(string key) => TierOf(key) is { } tier ? _byTier[(int)tier] ?? _default : _default;

    /// <summary>The stores that can hold keys starting with <paramref name="prefix"/>: one when the prefix names its tier.</summary>
    private IEnumerable<IStateStore> StoresFor(string prefix) => prefix.Contains('/', StringComparison.Ordinal) ? [Route(prefix)] : _distinct;

    private sealed class Subscriptions(List<IAsyncDisposable> subscriptions) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => DisposeAllAsync(subscriptions);
    }
}
