using Microsoft.Extensions.Logging;
using StateKit.Adapters;

namespace StateKit;

/// <summary>
/// Encryption at rest (<c>UseEncryption</c>): every value and list item is sealed with AES-256-GCM under the key ring's
/// current key before it goes to the layers below (write-behind's journal, the fallback chain's mirrors and journals,
/// the memory budget's spill files, the backend), and opened on the way back with the key its header names. Keys,
/// versions and expiries stay readable; the associated data binds each ciphertext to its state key.
/// </summary>
/// <remarks>
/// A value of <c>n</c> bytes is stored as <c>n + 31 + (key id length)</c> bytes, so the largest value accepted is the
/// backend's <see cref="StateStoreOptions.MaxValueBytes"/> less that overhead; a larger one is
/// <see cref="StateValueTooLargeException"/> before anything is written.
/// </remarks>
internal sealed partial class EncryptingStateStore : DelegatingStateStore, IStateEncryptionStatus
{
    private readonly IStateEncryptionKeyRing _ring;
    private readonly StateEncryptionOptions _options;
    private readonly StateStoreGuard _guard;
    private readonly ILogger _logger;

    /// <summary>The layer <c>UseEncryption</c> adds (with a container or without): limits from the backend's options.</summary>
    internal static Func<IStateStore, StateStoreLayerContext, IStateStore> Layer(Func<StateStoreLayerContext, (IStateEncryptionKeyRing Ring, StateEncryptionOptions Options)> settings) =>
        (inner, context) =>
        {
            var (ring, options) = settings(context);
            return new EncryptingStateStore(inner, ring, options, context.BackendOptions, context.TimeProvider, context.CreateLogger<EncryptingStateStore>());
        };

    private EncryptingStateStore(IStateStore innerStore, IStateEncryptionKeyRing ring, StateEncryptionOptions options, StateStoreOptions backendOptions, TimeProvider timeProvider, ILogger logger)
        : base(innerStore)
    {
        ArgumentNullException.ThrowIfNull(ring);
        _ = ring.CurrentKey ?? throw new ArgumentException("The encryption key ring has no current key.", nameof(ring));
        _ring = ring;
        _options = options;
        _guard = new StateStoreGuard(innerStore.Name, backendOptions, timeProvider);
        _logger = logger;
    }

    /// <inheritdoc />
    public string CurrentKeyId => _ring.CurrentKey.Id;

    /// <inheritdoc />
    public override async ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        await base.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } entry ? Open(entry, "get") : null;

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        var found = await base.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
        var opened = new Dictionary<string, StateEntry>(found.Count, StringComparer.Ordinal);
        foreach (var (key, entry) in found)
        {
            opened[key] = Open(entry, "get-many");
        }

        return opened;
    }

    /// <inheritdoc />
    public override ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) =>
        base.SetAsync(key, Seal(key, value, false, "set"), options, cancellationToken);

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var sealedWrites = new StateWrite[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            sealedWrites[i] = writes[i] with { Value = Seal(writes[i].Key, writes[i].Value, false, "set-many") };
        }

        return base.SetManyAsync(sealedWrites, cancellationToken);
    }

    /// <inheritdoc />
    public override ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
        base.SetAtVersionAsync(key, Seal(key, value, false, "set-at-version"), version, expiresAt, cancellationToken);

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<bool>> SetManyAtVersionAsync(IReadOnlyList<StateEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var sealedEntries = entries.Select(e => new StateEntry(e.Key, Seal(e.Key, e.Value, false, "set-at-version"), e.Version, e.ExpiresAt)).ToList();
        return InnerStore.GetRequiredService<IVersionPreservingStateStore>().SetManyAtVersionAsync(sealedEntries, cancellationToken);
    }

    /// <inheritdoc />
    public override ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var sealedItems = new ReadOnlyMemory<byte>[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            sealedItems[i] = Seal(key, items[i], true, "list-append");
        }

        return base.ListAppendAsync(key, sealedItems, timeToLive, cancellationToken);
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default)
    {
        var items = await base.ListRangeAsync(key, start, stop, cancellationToken).ConfigureAwait(false);
        var opened = new ReadOnlyMemory<byte>[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            opened[i] = Open(key, items[i], true, "list-range");
        }

        return opened;
    }

    private StateEntry Open(StateEntry entry, string operation)
    {
        var value = Open(entry.Key, entry.Value, false, operation);
        return new StateEntry(entry.Key, value, entry.Version, entry.ExpiresAt);
    }

    private ReadOnlyMemory<byte> Open(string key, ReadOnlyMemory<byte> stored, bool listItem, string operation)
    {
        if (StateCipher.LooksEncrypted(stored.Span))
        {
            return StateCipher.Decrypt(_ring, Name, operation, key, listItem, stored.Span);
        }

        return _options.ReadUnencrypted
            ? stored
            : throw new StateCorruptedException(Name, operation, key, "the value is not encrypted but the store is (set StateEncryptionOptions.ReadUnencrypted while encrypting an existing store)");
    }

    private byte[] Seal(string key, ReadOnlyMemory<byte> value, bool listItem, string operation)
    {
        _guard.ValidateKey(key, operation);
        var current = _ring.CurrentKey;
        var limit = _guard.Options.MaxValueBytes - StateCipher.Overhead(current);
        if (value.Length > limit)
        {
            throw new StateValueTooLargeException(Name, operation, key, value.Length, Math.Max(0, limit));
        }

        return StateCipher.Encrypt(current, key, listItem, value.Span);
    }
}
