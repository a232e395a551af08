using System.Text;
using NUnit.Framework;

namespace StateKit.Testing;

/// <summary>
/// The StateKit store contract as an abstract NUnit fixture. Inherit it once per <see cref="IStateStore"/>
/// (adapter or decorator), implement <see cref="CreateStoreAsync"/>, and every case runs against your store.
/// </summary>
/// <remarks>
/// <para>
/// Each test gets a unique key prefix; stores created within one test (see <see cref="CreateStoreWithPrefixAsync"/>)
/// must share the same backing storage (directory, database, server) so that prefix isolation is really tested.
/// </para>
/// <para>
/// There are no opt-outs: every member of <see cref="IStateStore"/> is part of the contract. Expiry is driven by
/// <see cref="Time"/>, a <see cref="ManualTimeProvider"/> the factory must hand to the store.
/// </para>
/// <para>
/// The batches of the suite keep their keys in one shard (the same first two <c>/</c>-separated segments, such as
/// <c>batch/1/a</c> and <c>batch/1/b</c>), so a store that spreads shards over servers, as the Redis store does on a
/// Redis Cluster, runs them too; such a store tests its refusal of cross-shard batches itself.
/// </para>
/// </remarks>
/// <typeparam name="TStore">The store type under test.</typeparam>
[TestFixture]
public abstract partial class StateStoreConformanceTests<TStore>
    where TStore : IStateStore
{
    /// <summary>The maximum value size configured for stores under test.</summary>
    protected const int MaxValueBytes = 64 * 1024;

    private readonly List<IStateStore> _created = [];
    private IStateStore? _store;
    private ManualTimeProvider? _time;

    /// <summary>Gets the store of the current test.</summary>
    protected IStateStore Store => _store ?? throw new InvalidOperationException("The store is created in SetUp.");

    /// <summary>Gets the clock of the current test.</summary>
    protected ManualTimeProvider Time => _time ?? throw new InvalidOperationException("The clock is created in SetUp.");

    /// <summary>Gets the key prefix of the current test's main store.</summary>
    protected string TestPrefix { get; private set; } = string.Empty;

    /// <summary>Creates a store with these options and clock, on the fixture's shared backing storage.</summary>
    /// <param name="options">The options, with a unique key prefix and <see cref="MaxValueBytes"/>.</param>
    /// <param name="timeProvider">The clock the store must use.</param>
    /// <returns>The store; the suite disposes it.</returns>
    protected abstract ValueTask<TStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider);

    /// <summary>
    /// Wraps each created store before the tests use it; the default uses it as it is. Override it to run the whole suite
    /// through a decorator over your adapter (for example <c>store =&gt; new MyMetricsStore(store)</c>); the wrapper must
    /// dispose the store it wraps, as a <see cref="DelegatingStateStore"/> does.
    /// </summary>
    /// <param name="store">The store <see cref="CreateStoreAsync"/> created.</param>
    /// <returns>The store the tests use.</returns>
    protected virtual IStateStore Decorate(TStore store) => store;

    /// <summary>Creates the options for a store with <paramref name="keyPrefix"/>; override to add backend settings.</summary>
    /// <param name="keyPrefix">The key prefix.</param>
    /// <returns>The options.</returns>
    protected virtual StateStoreOptions CreateOptions(string keyPrefix) => new() { KeyPrefix = keyPrefix, MaxValueBytes = MaxValueBytes };

    /// <summary>Creates the test's store.</summary>
    /// <returns>A task.</returns>
    [SetUp]
    public async Task SetUpStoreAsync()
    {
        _time = new ManualTimeProvider();
        TestPrefix = "t" + Guid.NewGuid().ToString("N")[..12];
        _store = await CreateStoreWithPrefixAsync(TestPrefix).ConfigureAwait(false);
    }

    /// <summary>Disposes every store the test created.</summary>
    /// <returns>A task.</returns>
    [TearDown]
    public async Task TearDownStoreAsync()
    {
        foreach (var store in _created)
        {
            await store.DisposeAsync().ConfigureAwait(false);
        }

        _created.Clear();
        _store = null;
    }

    /// <summary>Creates another store on the same backing storage with another key prefix (and the test's clock).</summary>
    /// <param name="keyPrefix">The key prefix.</param>
    /// <returns>The store; disposed after the test.</returns>
    protected async Task<IStateStore> CreateStoreWithPrefixAsync(string keyPrefix)
    {
        var store = Decorate(await CreateStoreAsync(CreateOptions(keyPrefix), Time).ConfigureAwait(false));
        _created.Add(store);
        return store;
    }

    /// <summary>Creates another store on the same backing storage with custom options (and the test's clock).</summary>
    /// <param name="configure">Changes the default options of the test.</param>
    /// <returns>The store; disposed after the test.</returns>
    protected async Task<IStateStore> CreateStoreWithOptionsAsync(Action<StateStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = CreateOptions(TestPrefix + "o");
        configure(options);
        var store = Decorate(await CreateStoreAsync(options, Time).ConfigureAwait(false));
        _created.Add(store);
        return store;
    }

    /// <summary>UTF-8 bytes of a string.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The bytes.</returns>
    protected static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>The UTF-8 text of stored bytes.</summary>
    /// <param name="bytes">The bytes.</param>
    /// <returns>The text.</returns>
    protected static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    /// <summary>Collects a key listing.</summary>
    /// <param name="store">The store.</param>
    /// <param name="prefix">The prefix.</param>
    /// <returns>The keys, sorted ordinally.</returns>
    protected static async Task<List<string>> ListAsync(IStateStore store, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(store);
        var keys = new List<string>();
        await foreach (var key in store.ListKeysAsync(prefix).ConfigureAwait(false))
        {
            keys.Add(key);
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    /// <summary>Reads a whole list as text.</summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The list key.</param>
    /// <param name="start">The first index.</param>
    /// <param name="stop">The last index.</param>
    /// <returns>The items as text.</returns>
    protected static async Task<string[]> RangeAsync(IStateStore store, string key, long start = 0, long stop = -1)
    {
        ArgumentNullException.ThrowIfNull(store);
        var items = await store.ListRangeAsync(key, start, stop).ConfigureAwait(false);
        return items.Select(i => Text(i)).ToArray();
    }

    /// <summary>Appends text items one call.</summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The list key.</param>
    /// <param name="items">The items.</param>
    /// <returns>The new length.</returns>
    protected static async Task<long> AppendAsync(IStateStore store, string key, params string[] items)
    {
        ArgumentNullException.ThrowIfNull(store);
        return await store.ListAppendAsync(key, items.Select(i => (ReadOnlyMemory<byte>)Bytes(i)).ToArray()).ConfigureAwait(false);
    }
}
