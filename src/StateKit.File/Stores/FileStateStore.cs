using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Adapters;
using StateKit.File.Internal;
using PrivateFiles = StateKit.Internal.PrivateFiles;

namespace StateKit.File;

/// <summary>
/// An <see cref="IStateStore"/> on the file system: one file per entry, one append-only file per list.
/// </summary>
/// <remarks>
/// <para>
/// Every write goes to a temp file that is flushed to disk, renamed over the old file and made durable by an
/// fsync of the directory, so after a crash each entry reads as its complete old or new value.
/// Writers of a key are serialized in-process by a semaphore and across processes by an OS file lock, so
/// several processes may share one directory without losing updates. Readers take no lock.
/// </para>
/// <para>
/// Layout: <c>{RootPath}/ns-{prefix}/entries</c>, <c>/lists</c> and <c>/locks</c> (lock and temp files, a
/// fixed number). Key-to-name mapping never leaves the directory and never maps two keys to one file.
/// </para>
/// </remarks>
public sealed partial class FileStateStore : IStateStore, IStateStoreCapabilities, IVersionPreservingStateStore, IStateListCatalog, IStateChangeFeed, StateKit.Internal.IStateStoreLocation, StateKit.Internal.IStateStoreBackend
{
    private readonly UnixFileMode _fileMode;
    private readonly StateStoreGuard _guard;
    private readonly StripeLocks _locks;
    private readonly ILogger _logger;
    private readonly string _entriesDirectory;
    private readonly string _listsDirectory;
    private readonly FileChangeLog _changes;
    private readonly TimeSpan _changePollInterval;
    private readonly object _feedLock = new();
    private FileChangeFeed? _feed;

    /// <summary>Initializes a new instance of the <see cref="FileStateStore"/> class and creates its directories.</summary>
    /// <param name="options">The options; <see cref="FileStateStoreOptions.RootPath"/> is required.</param>
    /// <param name="timeProvider">The clock for expiry; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="logger">The logger; none when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    /// <exception cref="StateStoreUnavailableException">The directories cannot be created.</exception>
    public FileStateStore(FileStateStoreOptions options, TimeProvider? timeProvider = null, ILogger<FileStateStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.RootPath, nameof(options) + "." + nameof(options.RootPath));
        if (options.LockTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.LockTimeout, "FileStateStoreOptions.LockTimeout must be positive.");
        }

        if (options.ChangePollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ChangePollInterval, "FileStateStoreOptions.ChangePollInterval must be positive.");
        }

        _guard = new StateStoreGuard(Name, options, timeProvider);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var root = Path.GetFullPath(options.RootPath);
        DirectoryPath = Path.Combine(root, "ns-" + FileNames.ForKey(options.KeyPrefix));
        _entriesDirectory = Path.Combine(DirectoryPath, "entries");
        _listsDirectory = Path.Combine(DirectoryPath, "lists");
        var locksDirectory = Path.Combine(DirectoryPath, "locks");
        try
        {
            foreach (var directory in new[] { root, DirectoryPath, _entriesDirectory, _listsDirectory, locksDirectory })
            {
                if (!Directory.Exists(directory))
                {
                    PrivateFiles.CreateDirectory(directory, options.FileMode);
                    NativeMethods.FsyncDirectory(Path.GetDirectoryName(directory)!);
                }
            }
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new StateStoreConfigurationException(Name, "Open", null, $"the directory '{DirectoryPath}' cannot be created: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new StateStoreUnavailableException(Name, "Open", null, $"the directory '{DirectoryPath}' cannot be created: {ex.Message}", ex);
        }

        _fileMode = options.FileMode;
        _locks = new StripeLocks(locksDirectory, options.LockTimeout, options.FileMode);
        _changes = new FileChangeLog(Path.Combine(DirectoryPath, "changes.log"), _logger, options.FileMode);
        _changePollInterval = options.ChangePollInterval;
        RemoveAbandonedTempFiles(locksDirectory);
    }

    /// <inheritdoc />
    /// <remarks>
    /// None: a batch checks every condition before writing, but replaces its files one by one, so a crash part-way can
    /// leave the first writes applied.
    /// </remarks>
    public StateStoreCapabilities Capabilities => StateStoreCapabilities.None;

    /// <inheritdoc />
    public string Name => "file";

    /// <summary>Gets the directory of this store's key prefix.</summary>
    public string DirectoryPath { get; }

    /// <inheritdoc />
    string StateKit.Internal.IStateStoreLocation.Location => "directory '" + DirectoryPath + "'";

    /// <inheritdoc />
    StateKit.Adapters.StateStoreGuard StateKit.Internal.IStateStoreBackend.Guard => _guard;

    /// <inheritdoc />
    public ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Get");
        return new(ToEntry(ReadEntry(EntryPath(key), key, "Get", tolerateCorrupt: false)));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        var distinct = _guard.ValidateDistinctKeys(keys, "GetMany");
        var result = new Dictionary<string, StateEntry>(distinct.Count, StringComparer.Ordinal);
        foreach (var key in distinct)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ToEntry(ReadEntry(EntryPath(key), key, "GetMany", tolerateCorrupt: false)) is { } entry)
            {
                result[key] = entry;
            }
        }

        return new(result);
    }

    /// <inheritdoc />
    public async ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateWrite(key, value, options, "Set");
        return (await WriteAsync([new StateWrite(key, value, options)], "Set", cancellationToken).ConfigureAwait(false))[0];
    }

    /// <inheritdoc />
    /// <remarks>
    /// The batch holds the locks of all its keys (taken in ascending order) and checks every condition before it writes
    /// anything, so a conflict writes nothing. The files are then replaced one by one: a crash or an I/O failure part-way
    /// can leave the first writes applied, which is reported with <see cref="StateStoreUnavailableException.WriteMayHaveApplied"/>.
    /// </remarks>
    public async ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateBatch(writes, "SetMany");
        return await WriteAsync(writes, "SetMany", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes one entry or a batch: every key's lock (ascending), every condition checked, then the files replaced one by one.</summary>
    private async ValueTask<long[]> WriteAsync(IReadOnlyList<StateWrite> writes, string operation, CancellationToken cancellationToken)
    {
        var stripes = writes.Select(w => StripeOf(EntryPath(w.Key))).Distinct().Order().ToArray();
        var held = new List<StripeLocks.Releaser>(stripes.Length);
        try
        {
            foreach (var stripe in stripes)
            {
                held.Add(await _locks.AcquireAsync(stripe, Name, operation, writes.Count == 1 ? writes[0].Key : null, cancellationToken).ConfigureAwait(false));
            }

            // A damaged entry is replaced by an unconditional write and refused to a conditional one.
            var conditional = writes.Where(w => w.Options.ExpectedVersion is not null).Select(w => w.Key).ToHashSet(StringComparer.Ordinal);
            var plans = _guard.PlanBatch(writes, key => LivePlan(ReadEntry(EntryPath(key), key, operation, tolerateCorrupt: !conditional.Contains(key))), operation);
            var versions = new long[writes.Count];
            for (var i = 0; i < writes.Count; i++)
            {
                var write = writes[i];
                versions[i] = plans[i].Version;
                var content = EntryFile.Encode(write.Key, write.Value.Span, plans[i].Version, ToTicks(plans[i].ExpiresAt));
                try
                {
                    ReplaceFile(EntryPath(write.Key), content, _entriesDirectory, operation, write.Key);
                    _changes.Append('s', versions[i], write.Key);
                }
                catch (StateStoreUnavailableException ex) when (i > 0 && !ex.WriteMayHaveApplied)
                {
                    throw new StateStoreUnavailableException(Name, operation, write.Key, $"the batch failed after {i} of its {writes.Count} writes were applied: {ex.Message}", ex, writeMayHaveApplied: true);
                }
            }

            return versions;
        }
        finally
        {
            foreach (var releaser in held)
            {
                releaser.Dispose();
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        var at = _guard.ValidateVersionedWrite(key, value, version, expiresAt, "SetAtVersion");
        var path = EntryPath(key);
        using (await LockAsync(path, "SetAtVersion", key, cancellationToken).ConfigureAwait(false))
        {
            if (LiveVersion(ReadEntry(path, key, "SetAtVersion", tolerateCorrupt: true)) >= version)
            {
                return false;
            }

            ReplaceFile(path, EntryFile.Encode(key, value.Span, version, ToTicks(at)), _entriesDirectory, "SetAtVersion", key);
            _changes.Append('s', version, key);
            return true;
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Delete");
        _guard.ValidateDeleteVersion(expectedVersion);
        var path = EntryPath(key);
        using (await LockAsync(path, "Delete", key, cancellationToken).ConfigureAwait(false))
        {
            var current = ReadEntry(path, key, "Delete", tolerateCorrupt: expectedVersion is null);
            var liveVersion = LiveVersion(current);
            if (expectedVersion is { } expected && expected != liveVersion)
            {
                throw new StateConflictException(Name, "Delete", key, expected, liveVersion);
            }

            if (current is null && !System.IO.File.Exists(path))
            {
                return false;
            }

            DeleteDurably(path, _entriesDirectory, "Delete", key);
            if (liveVersion > 0)
            {
                _changes.Append('d', liveVersion, key);
            }

            return liveVersion > 0;
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Exists");
        return new(LiveVersion(ReadEntry(EntryPath(key), key, "Exists", tolerateCorrupt: false)) > 0);
    }

    /// <inheritdoc />
    public async ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "Touch");
        StateStoreGuard.ValidateTimeToLive(timeToLive);
        var path = EntryPath(key);
        using (await LockAsync(path, "Touch", key, cancellationToken).ConfigureAwait(false))
        {
            var current = ReadEntry(path, key, "Touch", tolerateCorrupt: false);
            if (LiveVersion(current) == 0)
            {
                return false;
            }

            var entry = current!.Value;
            var content = EntryFile.Encode(key, entry.Value.Span, entry.Version, ToTicks(_guard.ExpiryFrom(timeToLive)));
            ReplaceFile(path, content, _entriesDirectory, "Touch", key);
            _changes.Append('t', entry.Version, key);
            return true;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListKeysAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _guard.ValidatePrefix(prefix, "ListKeys");
        _guard.Enter(cancellationToken);
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (var path in EnumerateFiles(_entriesDirectory, "ListKeys"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = Path.GetFileName(path);
            var decoded = FileNames.TryDecode(name);
            if (decoded is null && !FileNames.IsHashed(name))
            {
                continue;
            }

            if (decoded is not null && !decoded.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            // The whole entry is read and its checksum checked: a damaged header must neither invent a key nor hide one.
            var checkedEntry = ReadChecked(path, name);
            if (checkedEntry is not { } entry)
            {
                if (decoded is not null && System.IO.File.Exists(path))
                {
                    // The entry is damaged but its key is known from the file name: list it, so a read reports the damage.
                    yield return decoded;
                }
                else if (System.IO.File.Exists(path))
                {
                    Log.SkippedUnreadable(_logger, path, "the entry is damaged and its file name does not tell its key");
                }

                continue;
            }

            if (entry.Key.StartsWith(prefix, StringComparison.Ordinal) && entry.ExpiresAt > NowTicks)
            {
                yield return entry.Key;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        var entries = await PurgeDirectoryAsync(_entriesDirectory, IsExpiredEntryFile, DeleteEntryFile, cancellationToken).ConfigureAwait(false);
        if (entries > 0)
        {
            Io("PurgeExpired", null, () => NativeMethods.FsyncDirectory(_entriesDirectory));
        }

        return entries + await PurgeDirectoryAsync(_listsDirectory, IsExpiredList, path => DeleteListFile(path, Path.GetFileName(path), "PurgeExpired"), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (!_guard.MarkDisposed())
        {
            return ValueTask.CompletedTask;
        }

        _locks.Dispose();
        return _feed?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Across processes on the same directory: every change of an entry or a list appends a line to the store's change
    /// log (after the change is durable, while the entry's lock is held, so notices of one entry are in order), and the
    /// store polls the log every <see cref="FileStateStoreOptions.ChangePollInterval"/> while it has subscribers. A process
    /// that dies between a change and its line loses that notice (the change itself is durable). Expiry and
    /// <see cref="PurgeExpiredAsync"/> are not reported. When the log grows past 8 MB it is moved aside and watchers resync.
    /// </remarks>
    public ValueTask<IAsyncDisposable> SubscribeAsync(string prefix, Func<StateStoreChange, CancellationToken, ValueTask> onChange, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(onChange);
        _guard.Enter(cancellationToken);
        FileChangeFeed feed;
        lock (_feedLock)
        {
            feed = _feed ??= new FileChangeFeed(_changes, _changePollInterval, _logger);
        }

        return feed.SubscribeAsync(prefix, onChange, cancellationToken);
    }

    private long NowTicks => _guard.TimeProvider.GetUtcNow().UtcTicks;
}
