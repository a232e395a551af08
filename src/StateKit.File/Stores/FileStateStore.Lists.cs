using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using StateKit.Adapters;
using StateKit.File.Internal;

namespace StateKit.File;

/// <content>Append-only list files.</content>
public sealed partial class FileStateStore
{
    /// <summary>How many list indexes this process keeps; any evicted one is rebuilt by one full read.</summary>
    private const int MaxCachedListIndexes = 4096;

    /// <summary>
    /// Per list file: item positions of the generation last read. A read parses only what was appended since,
    /// and reads just the bytes of the requested items, so reading the last 20 messages does not read the file.
    /// </summary>
    private readonly ConcurrentDictionary<string, ListIndex> _listIndexes = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        var result = await AppendListAsync(key, items, timeToLive, cancellationToken).ConfigureAwait(false);
        if (items.Count > 0)
        {
            _changes.Append('a', result, key);
        }

        return result;
    }

    private async ValueTask<long> AppendListAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateAppend(key, items, timeToLive, "ListAppend");
        if (items.Count == 0)
        {
            return await ListLengthAsync(key, cancellationToken).ConfigureAwait(false);
        }

        var path = ListPath(key);
        using (await LockAsync(path, "ListAppend", key, cancellationToken).ConfigureAwait(false))
        {
            using var file = OpenListFile(path, key, "ListAppend", write: true);
            if (file is null)
            {
                return CreateList(path, key, ToTicks(_guard.ResolveExpiry(timeToLive)), items, "ListAppend");
            }

            var index = IndexFor(path);
            lock (index)
            {
                if (!Refresh(index, file, path, key, "ListAppend"))
                {
                    // Missing, emptied or expired: the append starts a new list.
                    return CreateList(path, key, ToTicks(_guard.ResolveExpiry(timeToLive)), items, "ListAppend");
                }

                var expiresAt = StateStoreGuard.KeepsExpiry(timeToLive) ? (long?)null : ToTicks(_guard.ResolveExpiry(timeToLive));
                if (index.Format == 1)
                {
                    // A list of the first format has no committed length: rewrite it in the current one, with the new items.
                    var all = ReadItems(index, file, 0, index.Count, path, key, "ListAppend").Concat(items).ToArray();
                    return CreateList(path, key, expiresAt ?? index.ExpiresAt, all, "ListAppend");
                }

                AppendRecords(index, file, path, key, ListFile.AppendRecords(items, expiresAt), "ListAppend");
                return index.Count;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListRange");
        var path = ListPath(key);
        using var file = OpenListFile(path, key, "ListRange", write: false);
        if (file is null)
        {
            return new(Array.Empty<ReadOnlyMemory<byte>>());
        }

        var index = IndexFor(path);
        lock (index)
        {
            if (!Refresh(index, file, path, key, "ListRange"))
            {
                return new(Array.Empty<ReadOnlyMemory<byte>>());
            }

            var (offset, count) = StateListRange.Resolve(start, stop, index.Count);
            return new(ReadItems(index, file, (int)offset, (int)count, path, key, "ListRange"));
        }
    }

    /// <inheritdoc />
    public ValueTask<long> ListLengthAsync(string key, CancellationToken cancellationToken = default)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListLength");
        var path = ListPath(key);
        using var file = OpenListFile(path, key, "ListLength", write: false);
        if (file is null)
        {
            return new(0L);
        }

        var index = IndexFor(path);
        lock (index)
        {
            return new(Refresh(index, file, path, key, "ListLength") ? index.Count : 0L);
        }
    }

    /// <inheritdoc />
    public async ValueTask<long> ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default)
    {
        var result = await TrimListAsync(key, start, stop, cancellationToken).ConfigureAwait(false);
        _changes.Append('l', result, key);

        return result;
    }

    private async ValueTask<long> TrimListAsync(string key, long start, long stop, CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListTrim");
        var path = ListPath(key);
        using (await LockAsync(path, "ListTrim", key, cancellationToken).ConfigureAwait(false))
        {
            using var file = OpenListFile(path, key, "ListTrim", write: false);
            if (file is null)
            {
                return 0;
            }

            var index = IndexFor(path);
            lock (index)
            {
                if (!Refresh(index, file, path, key, "ListTrim"))
                {
                    return 0;
                }

                var (offset, count) = StateListRange.Resolve(start, stop, index.Count);
                if (count == 0)
                {
                    DeleteListFile(path, key, "ListTrim");
                }
                else if (count < index.Count)
                {
                    CreateList(path, key, index.ExpiresAt, ReadItems(index, file, (int)offset, (int)count, path, key, "ListTrim"), "ListTrim");
                }

                return count;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> ListDeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var result = await DeleteListAsync(key, cancellationToken).ConfigureAwait(false);
        if (result)
        {
            _changes.Append('l', 0, key);
        }

        return result;
    }

    private async ValueTask<bool> DeleteListAsync(string key, CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListDelete");
        var path = ListPath(key);
        using (await LockAsync(path, "ListDelete", key, cancellationToken).ConfigureAwait(false))
        {
            bool live;
            using (var file = OpenListFile(path, key, "ListDelete", write: false))
            {
                if (file is null)
                {
                    return false;
                }

                // A damaged list can still be deleted: that is how an operator gets rid of it.
                live = TryRefresh(path, file, key, "ListDelete") is { } index && index.Count > 0 && index.ExpiresAt > NowTicks;
            }

            DeleteListFile(path, key, "ListDelete");
            return live;
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> ListTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        var result = await TouchListAsync(key, timeToLive, cancellationToken).ConfigureAwait(false);
        if (result)
        {
            _changes.Append('l', await ListLengthAsync(key, cancellationToken).ConfigureAwait(false), key);
        }

        return result;
    }

    private async ValueTask<bool> TouchListAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        _guard.Enter(cancellationToken);
        _guard.ValidateKey(key, "ListTouch");
        StateStoreGuard.ValidateTimeToLive(timeToLive);
        var path = ListPath(key);
        using (await LockAsync(path, "ListTouch", key, cancellationToken).ConfigureAwait(false))
        {
            using var file = OpenListFile(path, key, "ListTouch", write: true);
            if (file is null)
            {
                return false;
            }

            var index = IndexFor(path);
            lock (index)
            {
                if (!Refresh(index, file, path, key, "ListTouch"))
                {
                    return false;
                }

                var expiresAt = ToTicks(_guard.ExpiryFrom(timeToLive));
                if (index.Format == 1)
                {
                    CreateList(path, key, expiresAt, ReadItems(index, file, 0, index.Count, path, key, "ListTouch"), "ListTouch");
                    return true;
                }

                AppendRecords(index, file, path, key, ListFile.AppendRecords([], expiresAt), "ListTouch");
                return true;
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Each list file is read to learn its key and expiry. A damaged list whose key the file name tells is listed, so a read reports the damage.</remarks>
    public async IAsyncEnumerable<StateListInfo> ListListsAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _guard.ValidatePrefix(prefix, "ListLists");
        _guard.Enter(cancellationToken);
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (var path in EnumerateFiles(_listsDirectory, "ListLists"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = Path.GetFileName(path);
            var decoded = FileNames.TryDecode(name);
            if ((decoded is null && !FileNames.IsHashed(name)) || (decoded is not null && !decoded.StartsWith(prefix, StringComparison.Ordinal)))
            {
                continue;
            }

            StateListInfo? found = null;
            using (var file = OpenListFile(path, decoded ?? name, "ListLists", write: false))
            {
                if (file is null)
                {
                    continue;
                }

                var index = IndexFor(path);
                lock (index)
                {
                    try
                    {
                        if (Refresh(index, file, path, key: null, "ListLists") && index.Key!.StartsWith(prefix, StringComparison.Ordinal))
                        {
                            found = new StateListInfo(index.Key, FromTicks(index.ExpiresAt));
                        }
                    }
                    catch (StateCorruptedException) when (decoded is not null)
                    {
                        found = new StateListInfo(decoded, null);
                    }
                    catch (StateCorruptedException)
                    {
                        Log.SkippedUnreadable(_logger, path, "the list is damaged and its file name does not tell its key");
                    }
                }
            }

            if (found is { } list)
            {
                yield return list;
            }
        }
    }

    private string ListPath(string key) => Path.Combine(_listsDirectory, FileNames.ForKey(key));

    private ListIndex IndexFor(string path)
    {
        if (_listIndexes.Count >= MaxCachedListIndexes && !_listIndexes.ContainsKey(path))
        {
            foreach (var evicted in _listIndexes.Keys.Take(MaxCachedListIndexes / 8))
            {
                _listIndexes.TryRemove(evicted, out _);
            }
        }

        return _listIndexes.GetOrAdd(path, static _ => new ListIndex());
    }

    private FileStream? OpenListFile(string path, string key, string operation, bool write)
    {
        try
        {
            return new FileStream(path, FileMode.Open, write ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStoreUnavailableException(Name, operation, key, $"'{path}' cannot be opened: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Brings <paramref name="index"/> up to date with the open file (the caller holds its lock): a new
    /// generation is parsed whole, the same generation only from its last known valid end.
    /// </summary>
    /// <returns><see langword="true"/> when the list is live (has items and has not expired).</returns>
    /// <remarks>A <see langword="null"/> <paramref name="key"/> accepts whatever key the file holds (purge does not know it).</remarks>
    private bool Refresh(ListIndex index, FileStream file, string path, string? key, string operation)
    {
        var (format, committed) = ReadListHeader(file, path, key, operation);
        Span<byte> generation = stackalloc byte[8];
        var sameGeneration = index.Key is not null && index.Format == format && committed >= index.ValidEnd
            && RandomAccess.Read(file.SafeFileHandle, generation, ListFile.GenerationOffset(format)) == 8
            && BinaryPrimitives.ReadInt64LittleEndian(generation) == index.Generation;
        if (!sameGeneration)
        {
            index.Reset();
        }

        // Only what was acknowledged is read: bytes past the committed length belong to an append that never finished.
        var start = index.ValidEnd;
        if (committed > start || start == 0)
        {
            var chunk = new byte[checked((int)(committed - start))];
            var read = ReadAt(file.SafeFileHandle, chunk, start);
            var problem = read < chunk.Length && format == 2
                ? $"the file ends at {start + read} bytes, before its {committed} bytes of acknowledged items"
                : ListFile.ParseInto(index, chunk.AsSpan(0, read), start, format);
            if (problem is not null)
            {
                index.Reset();
                throw new StateCorruptedException(Name, operation, key, problem, path);
            }
        }

        if (key is not null && index.Key != key)
        {
            var other = index.Key;
            index.Reset();
            throw new StateCorruptedException(Name, operation, key, $"the file holds list '{StateKeys.Printable(other)}'", path);
        }

        return index.Count > 0 && index.ExpiresAt > NowTicks;
    }

    /// <summary>Reads the list file's format and committed length.</summary>
    /// <remarks>
    /// The committed length is rewritten in place by appenders; a read that meets a half-written marker sees a checksum
    /// mismatch, so the marker is read again a few times before it is called damaged.
    /// </remarks>
    private (int Format, long Committed) ReadListHeader(FileStream file, string path, string? key, string operation)
    {
        Span<byte> head = stackalloc byte[ListFile.HeaderSize];
        string? problem = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var read = RandomAccess.Read(file.SafeFileHandle, head, 0);
            problem = ListFile.ReadHeader(head[..read], file.Length, out var format, out var committed);
            if (problem is null)
            {
                return (format, committed);
            }

            Thread.Sleep(attempt);
        }

        throw new StateCorruptedException(Name, operation, key, problem!, path);
    }

    /// <summary>Refreshes the index of a list whose key may be unknown; <see langword="null"/> when the file is damaged.</summary>
    private ListIndex? TryRefresh(string path, FileStream file, string? key, string operation)
    {
        var index = IndexFor(path);
        lock (index)
        {
            try
            {
                Refresh(index, file, path, key, operation);
                return index;
            }
            catch (StateCorruptedException)
            {
                return null;
            }
        }
    }

    /// <summary>Reads items <paramref name="offset"/>..+<paramref name="count"/> with one read of the bytes that hold them.</summary>
    private ReadOnlyMemory<byte>[] ReadItems(ListIndex index, FileStream file, int offset, int count, string path, string key, string operation)
    {
        if (count == 0)
        {
            return [];
        }

        // The whole records are read (type and length before each item, its checksum after) and every checksum is checked
        // again: the index was built from sound records, but the bytes may have been damaged on disk since.
        var first = index.Offsets[offset] - ListFile.RecordPrefix;
        var last = offset + count - 1;
        var buffer = new byte[checked((int)(index.Offsets[last] + index.Lengths[last] + sizeof(uint) - first))];
        if (ReadAt(file.SafeFileHandle, buffer, first) != buffer.Length)
        {
            index.Reset();
            throw new StateCorruptedException(Name, operation, key, "the file is shorter than its records say", path);
        }

        var items = new ReadOnlyMemory<byte>[count];
        for (var i = 0; i < count; i++)
        {
            var at = (int)(index.Offsets[offset + i] - first);
            var length = index.Lengths[offset + i];
            if (!ListFile.RecordIsSound(buffer.AsSpan(at - ListFile.RecordPrefix, ListFile.RecordPrefix + length + sizeof(uint)), length))
            {
                index.Reset();
                throw new StateCorruptedException(Name, operation, key, $"item {offset + i} does not match its checksum", path);
            }

            items[i] = new ReadOnlyMemory<byte>(buffer, at, length);
        }

        return items;
    }

    /// <summary>Writes a whole new list file atomically (temp + fsync + rename) with a fresh generation.</summary>
    private long CreateList(string path, string key, long expiresAt, IReadOnlyList<ReadOnlyMemory<byte>> items, string operation)
    {
        var generation = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));
        ReplaceFile(path, ListFile.NewFile(key, generation, expiresAt, items), _listsDirectory, operation, key);
        _listIndexes.TryRemove(path, out _);
        return items.Count;
    }

    /// <summary>Appends records at the valid end of a list file (cutting a torn tail first), flushes them to disk and indexes them.</summary>
    /// <remarks>
    /// An append is all of its items or none: when writing fails part-way (a full disk), the file is cut back to where it
    /// was, and only if that fails too is the outcome reported as "may have applied". A failed fsync is always reported
    /// so: the kernel may have kept or dropped the bytes, and a second fsync would not tell which.
    /// </remarks>
    private void AppendRecords(ListIndex index, FileStream file, string path, string key, byte[] records, string operation)
    {
        var at = index.ValidEnd;
        Io(operation, key, () =>
        {
            if (file.Length > at)
            {
                Log.DroppedTornTail(_logger, path, file.Length - at);
                file.SetLength(at);
            }
        });

        var written = false;
        try
        {
            file.Position = at;
            NativeMethods.Write(file, records);
            written = true;
            NativeMethods.Fsync(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var restored = false;
            try
            {
                file.SetLength(at);
                NativeMethods.Fsync(file);
                restored = true;
            }
            catch (Exception cut) when (cut is IOException or UnauthorizedAccessException)
            {
                Log.AppendNotUndone(_logger, path, cut.Message);
            }

            var mayHaveApplied = written || !restored;
            throw new StateStoreUnavailableException(Name, operation, key, $"the file system refused the append{(restored ? " (the list was left as it was)" : string.Empty)}: {ex.Message}", ex, mayHaveApplied);
        }

        // The records are durable; moving the committed length over them acknowledges them. From here a failure may or
        // may not have made them part of the list.
        Io(operation, key, () =>
        {
            RandomAccess.Write(file.SafeFileHandle, ListFile.CommittedMarker(at + records.Length), ListFile.CommittedOffset);
            NativeMethods.Fsync(file);
        }, writeMayHaveApplied: true);
        _ = ListFile.ParseInto(index, records, at, format: 2);
    }

    private void DeleteListFile(string path, string key, string operation)
    {
        DeleteDurably(path, _listsDirectory, operation, key);
        _listIndexes.TryRemove(path, out _);
    }

    private bool IsExpiredList(string path)
    {
        using var file = OpenListFile(path, Path.GetFileName(path), "PurgeExpired", write: false);
        return file is not null && TryRefresh(path, file, key: null, "PurgeExpired") is { } index && index.ExpiresAt <= NowTicks;
    }
}
