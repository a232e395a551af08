using System.Collections.Concurrent;
using System.Security.Cryptography;
using StateKit.File.Internal;

namespace StateKit.File;

/// <content>Append-only list files.</content>
public sealed partial class FileStateStore
{
    /// <summary>What this process last saw of each list file, so an append need not re-read the whole file.</summary>
    private readonly ConcurrentDictionary<string, ListState> _listStates = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _guard.ValidateAppend(key, items, timeToLive, "ListAppend");
        if (items.Count == 0)
        {
            return await ListLengthAsync(key, cancellationToken).ConfigureAwait(false);
        }

        var path = ListPath(key);
        using (await LockAsync(path, "ListAppend", key, cancellationToken).ConfigureAwait(false))
        {
            var state = CurrentListState(path, key, "ListAppend", holdsLock: true);
            if (state is null)
            {
                var expiresAt = ToTicks(_guard.ResolveExpiry(timeToLive));
                return CreateList(path, key, expiresAt, items, "ListAppend");
            }

            var explicitExpiry = timeToLive is null ? (long?)null : ToTicks(_guard.ExpiryFrom(timeToLive));
            var records = ListFile.AppendRecords(items, explicitExpiry);
            var count = state.Count + items.Count;
            AppendToFile(path, key, state, records, "ListAppend", state with { Count = count, ExpiresAt = explicitExpiry ?? state.ExpiresAt });
            return count;
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _guard.ValidateKey(key, "ListRange");
        var parsed = ParseList(ListPath(key), key, "ListRange", collectItems: true);
        if (parsed is null)
        {
            return new(Array.Empty<ReadOnlyMemory<byte>>());
        }

        var (offset, count) = StateListRange.Resolve(start, stop, parsed.Count);
        return new(parsed.Items!.GetRange((int)offset, (int)count));
    }

    /// <inheritdoc />
    public ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _guard.ValidateKey(key, "ListLength");
        var path = ListPath(key);
        var state = CurrentListState(path, key, "ListLength", holdsLock: false);
        return new(state?.Count ?? 0);
    }

    /// <inheritdoc />
    public async ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _guard.ValidateKey(key, "ListTrim");
        var path = ListPath(key);
        using (await LockAsync(path, "ListTrim", key, cancellationToken).ConfigureAwait(false))
        {
            var parsed = ParseList(path, key, "ListTrim", collectItems: true);
            if (parsed is null)
            {
                return 0;
            }

            var (offset, count) = StateListRange.Resolve(start, stop, parsed.Count);
            if (count == 0)
            {
                DeleteListFile(path, key, "ListTrim");
                return 0;
            }

            if (count < parsed.Count)
            {
                CreateList(path, key, parsed.ExpiresAt, parsed.Items!.GetRange((int)offset, (int)count), "ListTrim");
            }

            return count;
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _guard.ValidateKey(key, "ListDelete");
        var path = ListPath(key);
        using (await LockAsync(path, "ListDelete", key, cancellationToken).ConfigureAwait(false))
        {
            if (!System.IO.File.Exists(path))
            {
                return false;
            }

            // A damaged list can still be deleted: that is how an operator gets rid of it.
            var data = ReadAll(path, "ListDelete", key);
            var parsed = data is null ? null : ListFile.Parse(data, collectItems: false);
            var live = parsed is { Problem: null, IsEmpty: false } && parsed.ExpiresAt > NowTicks && parsed.Count > 0;
            DeleteListFile(path, key, "ListDelete");
            return live;
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _guard.ValidateKey(key, "ListTouch");
        StateStoreGuard.ValidateTimeToLive(timeToLive);
        var path = ListPath(key);
        using (await LockAsync(path, "ListTouch", key, cancellationToken).ConfigureAwait(false))
        {
            var state = CurrentListState(path, key, "ListTouch", holdsLock: true);
            if (state is null)
            {
                return false;
            }

            var expiresAt = ToTicks(_guard.ExpiryFrom(timeToLive));
            AppendToFile(path, key, state, ListFile.AppendRecords([], expiresAt), "ListTouch", state with { ExpiresAt = expiresAt });
            return true;
        }
    }

    private string ListPath(string key) => Path.Combine(_listsDirectory, FileNames.ForKey(key));

    /// <summary>
    /// The live state of a list (count, expiry, valid end), from the cache when the file is unchanged; null when
    /// missing or expired. Only lock holders (<paramref name="holdsLock"/>) write the cache, so a cached state always
    /// describes the file a writer left behind.
    /// </summary>
    private ListState? CurrentListState(string path, string key, string operation, bool holdsLock)
    {
        if (_listStates.TryGetValue(path, out var cached) && PeekIdentity(path) == (cached.Generation, cached.Size))
        {
            return cached.ExpiresAt > NowTicks && cached.Count > 0 ? cached : null;
        }

        var data = ReadAll(path, operation, key);
        var parsed = data is null ? null : Checked(ListFile.Parse(data, collectItems: false), path, key, operation);
        if (parsed is null || parsed.IsEmpty)
        {
            if (holdsLock)
            {
                _listStates.TryRemove(path, out _);
            }

            return null;
        }

        var state = new ListState(parsed.Generation, data!.Length, parsed.Count, parsed.ExpiresAt, parsed.ValidEnd);
        if (holdsLock)
        {
            _listStates[path] = state;
        }

        return state.ExpiresAt > NowTicks && state.Count > 0 ? state : null;
    }

    private ListFile.Parsed? ParseList(string path, string key, string operation, bool collectItems)
    {
        var data = ReadAll(path, operation, key);
        var parsed = data is null ? null : Checked(ListFile.Parse(data, collectItems), path, key, operation);
        return parsed is null || parsed.IsEmpty || parsed.ExpiresAt <= NowTicks || parsed.Count == 0 ? null : parsed;
    }

    private ListFile.Parsed Checked(ListFile.Parsed parsed, string path, string key, string operation)
    {
        if (parsed.Problem is not null)
        {
            throw new StateCorruptedException(Name, operation, key, parsed.Problem, path);
        }

        if (!parsed.IsEmpty && parsed.Key != key)
        {
            throw new StateCorruptedException(Name, operation, key, $"the file holds list '{StateKeys.Printable(parsed.Key)}'", path);
        }

        return parsed;
    }

    /// <summary>Reads the generation and size of a list file without parsing it.</summary>
    private static (long Generation, long Size) PeekIdentity(string path)
    {
        try
        {
            using var handle = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> generation = stackalloc byte[8];
            return RandomAccess.Read(handle, generation, ListFile.GenerationOffset) == 8
                ? (BitConverter.ToInt64(generation), RandomAccess.GetLength(handle))
                : (-1, -1);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (-1, -1);
        }
    }

    /// <summary>Writes a whole new list file atomically (temp + fsync + rename) with a fresh generation.</summary>
    private long CreateList(string path, string key, long expiresAt, IReadOnlyList<ReadOnlyMemory<byte>> items, string operation)
    {
        var generation = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));
        var content = ListFile.NewFile(key, generation, expiresAt, items);
        ReplaceFile(path, content, _listsDirectory, operation, key);
        _listStates[path] = new ListState(generation, content.Length, items.Count, expiresAt, content.Length);
        return items.Count;
    }

    /// <summary>Appends records at the valid end of a list file (dropping a torn tail first) and flushes them to disk.</summary>
    private void AppendToFile(string path, string key, ListState state, byte[] records, string operation, ListState next)
    {
        Io(operation, key, () =>
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
            if (stream.Length > state.ValidEnd)
            {
                Log.DroppedTornTail(_logger, path, stream.Length - state.ValidEnd);
                stream.SetLength(state.ValidEnd);
            }

            stream.Position = state.ValidEnd;
            stream.Write(records);
            stream.Flush(flushToDisk: true);
        });
        var end = state.ValidEnd + records.Length;
        _listStates[path] = next with { Size = end, ValidEnd = end };
    }

    private void DeleteListFile(string path, string key, string operation)
    {
        Io(operation, key, () =>
        {
            System.IO.File.Delete(path);
            NativeMethods.FsyncDirectory(_listsDirectory);
        });
        _listStates.TryRemove(path, out _);
    }

    private bool IsExpiredList(string path)
    {
        var data = ReadAll(path, "PurgeExpired", null);
        return data is not null && ListFile.Parse(data, collectItems: false) is { Problem: null, IsEmpty: false } parsed && parsed.ExpiresAt <= NowTicks;
    }

    /// <summary>What is known of one list file: generation and size identify the file version it describes.</summary>
    private sealed record ListState(long Generation, long Size, long Count, long ExpiresAt, long ValidEnd);
}
