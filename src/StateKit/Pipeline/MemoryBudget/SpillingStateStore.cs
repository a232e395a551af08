using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Internal;

namespace StateKit;

/// <summary>
/// The memory store with a byte budget (<see cref="MemoryBudgetOptions"/>): past
/// <see cref="MemoryBudgetOptions.MaxResidentBytes"/>, the least recently used entries move to files in
/// <see cref="MemoryBudgetOptions.SpillDirectory"/> and come back, with their version and expiry, on their next read or
/// write. Callers see one memory store: versions never go back, conditional writes and batches behave the same, and a
/// move tells no change-feed subscriber anything (nothing changed).
/// </summary>
/// <remarks>
/// <para>
/// Spilled entries are records appended to segment files of about 4 MB, each with a CRC-32C, referenced only once
/// completely written; a segment file is deleted when the last record in it leaves. A damaged or cut short record is a
/// <see cref="StateCorruptedException"/> on the entry's next read, never a silent loss or another value. Nothing is
/// fsynced: like the memory store, nothing here outlives the process; the process's spill directory is removed on
/// dispose, and the next start removes the directories of processes that are gone.
/// </para>
/// <para>
/// What counts toward the budget: each entry's value and key plus 80 bytes of bookkeeping. Lists stay in memory and do not
/// count. A spilled entry still costs its key and ~100 bytes in memory (the index of spilled entries). When a spill
/// cannot be written (a full disk), the entries stay in memory, over the budget, and the failure is logged.
/// </para>
/// <para>
/// A write over the budget spills before it returns, so a writer faster than the disk waits for it (back-pressure)
/// instead of growing memory; the budget is brought down to 95 % in each pass, oldest use first.
/// </para>
/// </remarks>
internal sealed partial class SpillingStateStore : DelegatingStateStore, IMemoryBudgetStatus
{
    private const int EntryOverhead = 80;
    private StateKitMetrics _metrics = StateKitMetrics.Process;
    private readonly MemoryStateStore _memory;
    private readonly SpillDirectory _directory;
    private readonly long _budget;
    private readonly long _lowWater;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object[] _locks = Enumerable.Range(0, 64).Select(_ => new object()).ToArray();
    private readonly object _spillGate = new();
    private readonly SizedMap<Resident> _resident = new(resident => resident.Size);
    private readonly ConcurrentDictionary<string, Spilled> _spilled = new(StringComparer.Ordinal);
    private long _movesActive;
    private long _movesDone;
    private long _spills;
    private long _restores;
    private long _useClock;

    /// <summary>The layer <c>UseMemoryBudget</c> adds (with a container or without); the store below must be the memory store.</summary>
    /// <param name="options">The budget.</param>
    /// <param name="optionPath">The option's name for the error, e.g. <c>StateKit:MemoryBudget</c>.</param>
    internal static Func<IStateStore, StateStoreLayerContext, IStateStore> Layer(MemoryBudgetOptions options, string optionPath) =>
        (inner, context) => new SpillingStateStore(
            inner as MemoryStateStore ?? throw new InvalidOperationException($"{optionPath} applies to the memory store only; this store is {inner.GetType().Name}."),
            options,
            context.TimeProvider,
            context.CreateLogger<SpillingStateStore>());

    /// <summary>Initializes a new instance of the <see cref="SpillingStateStore"/> class.</summary>
    /// <param name="store">The memory store that holds the resident entries; owned and disposed with this one.</param>
    /// <param name="options">The budget and the spill directory.</param>
    /// <param name="timeProvider">The clock for expiry (the memory store's); <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="logger">Where spill failures are logged.</param>
    /// <exception cref="ArgumentException">The budget is under 1 KB or the directory is missing.</exception>
    public SpillingStateStore(MemoryStateStore store, MemoryBudgetOptions options, TimeProvider? timeProvider = null, ILogger<SpillingStateStore>? logger = null)
        : base(store)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxResidentBytes < 1024)
        {
            throw new ArgumentException($"MaxResidentBytes must be at least 1024 (was {options.MaxResidentBytes}).", nameof(options));
        }

        if (string.IsNullOrWhiteSpace(options.SpillDirectory))
        {
            throw new ArgumentException("SpillDirectory is required for a memory budget.", nameof(options));
        }

        _memory = store;
        _budget = options.MaxResidentBytes;
        _lowWater = options.MaxResidentBytes / 100 * 95;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _directory = new SpillDirectory(options.SpillDirectory);
        _metrics.TrackResident(this, () => ResidentBytes);
    }

    /// <summary>Gets or sets where spills, restores and resident bytes are reported (the container's instruments in a pipeline).</summary>
    internal StateKitMetrics Metrics
    {
        get => _metrics;
        set
        {
            _metrics.UntrackResident(this);
            _metrics = value;
            _metrics.TrackResident(this, () => ResidentBytes);
        }
    }

    /// <summary>Gets the bytes the resident entries count toward the budget.</summary>
    public long ResidentBytes => _resident.Bytes;

    /// <summary>Gets how many entries are in spill files now.</summary>
    public int SpilledCount => _spilled.Count;

    /// <summary>Gets how many times an entry was moved to a spill file.</summary>
    public long Spills => Interlocked.Read(ref _spills);

    /// <summary>Gets how many times an entry was brought back from a spill file.</summary>
    public long Restores => Interlocked.Read(ref _restores);

    /// <summary>Gets this store's spill directory (a subdirectory of <see cref="MemoryBudgetOptions.SpillDirectory"/>).</summary>
    public string SpillPath => _directory.Path;

    /// <inheritdoc />
    public override ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var (done, active) = (Volatile.Read(ref _movesDone), Volatile.Read(ref _movesActive));
        var entry = Sync(_memory.GetAsync(key, cancellationToken));
        if (entry is not null)
        {
            Used(key);
            return new(entry);
        }

        return new(SurelyMissing(key, done, active) ? null : ReadMissed(key));
    }

    /// <inheritdoc />
    public override ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        var (done, active) = (Volatile.Read(ref _movesDone), Volatile.Read(ref _movesActive));
        var found = Sync(_memory.GetManyAsync(keys, cancellationToken));
        Dictionary<string, StateEntry>? result = null;
        foreach (var key in keys)
        {
            if (found.ContainsKey(key))
            {
                Used(key);
            }
            else if (!SurelyMissing(key, done, active) && ReadMissed(key) is { } restored)
            {
                result ??= new Dictionary<string, StateEntry>(found, StringComparer.Ordinal);
                result[key] = restored;
            }
        }

        return new(result ?? found);
    }

    /// <inheritdoc />
    public override ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        new(Sync(GetAsync(key, cancellationToken)) is not null);

    /// <inheritdoc />
    public override ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) =>
        new(Write(key, () => Sync(_memory.SetAsync(key, value, options, cancellationToken))));

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var keys = writes.Select(w => w.Key).Where(k => k is not null).Distinct(StringComparer.Ordinal).ToArray();
        var locks = keys.Select(StripeOf).Distinct().Order().Select(i => _locks[i]).ToArray();
        IReadOnlyList<long> versions;
        var taken = 0;
        try
        {
            for (; taken < locks.Length; taken++)
            {
                Monitor.Enter(locks[taken]);
            }

            foreach (var key in keys)
            {
                if (_spilled.ContainsKey(key))
                {
                    RestoreLocked(key);
                }
            }

            var written = false;
            try
            {
                versions = Sync(_memory.SetManyAsync(writes, cancellationToken));
                written = true;
            }
            finally
            {
                foreach (var key in keys)
                {
                    AccountAfterWrite(key, written);
                }
            }
        }
        finally
        {
            for (var i = taken - 1; i >= 0; i--)
            {
                Monitor.Exit(locks[i]);
            }

            SpillIfOver();
        }

        return new(versions);
    }

    /// <inheritdoc />
    public override ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
        new(Write(key, () => Sync(_memory.SetAtVersionAsync(key, value, version, expiresAt, cancellationToken))));

    /// <inheritdoc />
    public override ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) =>
        new(Write(key, () => Sync(_memory.DeleteAsync(key, expectedVersion, cancellationToken))));

    /// <inheritdoc />
    public override ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        new(Write(key, () => Sync(_memory.TouchAsync(key, timeToLive, cancellationToken))));

    /// <inheritdoc />
    public override async IAsyncEnumerable<string> ListKeysAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in _memory.ListKeysAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            listed.Add(key);
            yield return key;
        }

        var now = NowTicks;
        foreach (var (key, spilled) in _spilled)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (key.StartsWith(prefix, StringComparison.Ordinal) && spilled.ExpiresAtTicks > now && !listed.Contains(key))
            {
                yield return key;
            }
        }
    }

    /// <inheritdoc />
    public override async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        var removed = await _memory.PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);
        var now = NowTicks;
        foreach (var (key, spilled) in _spilled)
        {
            if (spilled.ExpiresAtTicks <= now)
            {
                lock (LockOf(key))
                {
                    if (_spilled.TryRemove(new KeyValuePair<string, Spilled>(key, spilled)))
                    {
                        DeleteFile(spilled.Location);
                        removed++;
                    }
                }
            }
        }

        foreach (var key in _resident.Keys)
        {
            lock (LockOf(key))
            {
                Account(key); // drops what the memory store purged
            }
        }

        return removed;
    }

    /// <summary>Damages the spill file of <paramref name="key"/> (tests of damage detection only).</summary>
    internal bool DamageSpillForTest(string key)
    {
        if (!_spilled.TryGetValue(key, out var spilled))
        {
            return false;
        }

        _directory.DamageForTest(spilled.Location);
        return true;
    }

    /// <summary>Cuts the spill file of <paramref name="key"/> short (tests of damage detection only).</summary>
    internal bool TruncateSpillForTest(string key)
    {
        if (!_spilled.TryGetValue(key, out var spilled))
        {
            return false;
        }

        _directory.TruncateForTest(spilled.Location);
        return true;
    }

    /// <summary>Gets or sets a failure every spill write throws (fault-injection tests only).</summary>
    internal Exception? FailSpillWritesForTest
    {
        get => _directory.FailWritesForTest;
        set => _directory.FailWritesForTest = value;
    }

    /// <summary>Damages the resident value of <paramref name="key"/> (tests of damage detection only).</summary>
    internal bool DamageResidentForTest(string key) => _memory.DamageValueForTest(key);

    /// <summary>Gets or sets whether every write ends by spilling every resident entry (tests that run the contract through the round trip).</summary>
    internal bool SpillEverythingForTest { get; set; }

    /// <summary>Moves every resident entry to the spill directory (tests only).</summary>
    internal void SpillAllForTest()
    {
        foreach (var key in _resident.Keys)
        {
            lock (LockOf(key))
            {
                SpillLocked(key);
            }
        }
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        _metrics.UntrackResident(this);
        await base.DisposeAsyncCore().ConfigureAwait(false);
        _directory.Dispose();
    }

    private sealed record Spilled(SpillLocation Location, long Version, long ExpiresAtTicks);
}
