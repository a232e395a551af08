using System.Buffers.Binary;
using NUnit.Framework;
using StateKit.File;
using StateKit.File.Internal;
using StateKit.Testing;

namespace StateKit.Tests.Issues;

/// <summary>
/// The file store under injected fsync failures and damaged headers: a failed fsync is never reported as success, a
/// write visible after a failed directory fsync is reported as "may have applied", a failed append leaves no part of
/// itself, and listing and purging never trust an unchecked header.
/// </summary>
[NonParallelizable]
public sealed class FileStoreFaultTests
{
    private string _root = string.Empty;
    private FileStateStore _store = null!;
    private ManualTimeProvider _time = null!;

    [SetUp]
    public void CreateStore()
    {
        _root = Directory.CreateTempSubdirectory("statekit-faults-").FullName;
        _time = new ManualTimeProvider();
        _store = new FileStateStore(new FileStateStoreOptions { RootPath = _root }, _time);
    }

    [TearDown]
    public async Task DisposeStoreAsync()
    {
        NativeMethods.InjectFsyncError = null;
        NativeMethods.InjectWriteLimit = null;
        await _store.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task Set_DataFsyncFails_ThrowsNotWrittenAndKeepsTheOldValue()
    {
        await _store.SetAsync("k", "old"u8.ToArray());
        FailFsync("file");
        var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await _store.SetAsync("k", "new"u8.ToArray()));
        Assert.That(ex!.WriteMayHaveApplied, Is.False, "the new bytes were never renamed into place");
        await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await _store.TouchAsync("k", TimeSpan.FromHours(1)));
        await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await _store.ListAppendAsync("new-list", ["a"u8.ToArray()]));
        NativeMethods.InjectFsyncError = null;
        var entry = await _store.GetAsync("k");
        Assert.That(entry!.Value.ToArray(), Is.EqualTo("old"u8.ToArray()));
        Assert.That(entry.ExpiresAt, Is.Null);
        Assert.That(await _store.ListLengthAsync("new-list"), Is.Zero);
    }

    [Test]
    public async Task Set_DirectoryFsyncFails_ReportsMayHaveApplied()
    {
        await _store.SetAsync("k", "old"u8.ToArray());
        FailFsync("directory");
        var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await _store.SetAsync("k", "new"u8.ToArray(), StateWriteOptions.IfVersion(1)));
        Assert.That(ex!.WriteMayHaveApplied, Is.True, "the renamed file is served although its rename may not be durable");
        NativeMethods.InjectFsyncError = null;
        Assert.That((await _store.GetAsync("k"))!.Version, Is.EqualTo(2));
    }

    [Test]
    public async Task Append_FsyncFails_LeavesNoPartOfTheAppendAndSaysItMayHaveApplied()
    {
        await _store.ListAppendAsync("l", ["1"u8.ToArray(), "2"u8.ToArray()]);
        FailFsync("file");
        var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await _store.ListAppendAsync("l", ["3"u8.ToArray(), "4"u8.ToArray(), "5"u8.ToArray()]));
        Assert.That(ex!.WriteMayHaveApplied, Is.True, "a failed fsync is never assumed to have dropped the bytes");
        NativeMethods.InjectFsyncError = null;
        Assert.That(await _store.ListLengthAsync("l"), Is.EqualTo(2), "the file was cut back to where it was");
        Assert.That(await _store.ListAppendAsync("l", ["3"u8.ToArray(), "4"u8.ToArray(), "5"u8.ToArray()]), Is.EqualTo(5));
        Assert.That((await _store.ListRangeAsync("l")).Select(i => i.Span[0] - '0'), Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
    }

    [Test]
    public async Task Append_DiskFullPartWay_LeavesNoPartOfTheAppendAndSaysNotWritten()
    {
        await _store.ListAppendAsync("l", ["1"u8.ToArray(), "2"u8.ToArray()]);
        var root = _root;
        NativeMethods.InjectWriteLimit = path => path.StartsWith(root, StringComparison.Ordinal) ? 15 : null; // room for 1.5 of 3 records
        var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await _store.ListAppendAsync("l", ["3"u8.ToArray(), "4"u8.ToArray(), "5"u8.ToArray()]));
        NativeMethods.InjectWriteLimit = null;
        Assert.That(ex!.WriteMayHaveApplied, Is.False, "the partial records were cut off again");
        await using var reopened = new FileStateStore(new FileStateStoreOptions { RootPath = _root }, _time);
        Assert.That(await reopened.ListLengthAsync("l"), Is.EqualTo(2));
        Assert.That(await reopened.ListAppendAsync("l", ["3"u8.ToArray(), "4"u8.ToArray(), "5"u8.ToArray()]), Is.EqualTo(5), "the retry appends exactly once");
        Assert.That((await reopened.ListRangeAsync("l")).Select(i => i.Span[0] - '0'), Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
    }

    [Test]
    public async Task ListKeysAndPurge_DamagedExpiryInAHeader_NeitherHideNorDeleteTheEntry()
    {
        await _store.SetAsync("live", "v"u8.ToArray());
        await _store.SetAsync("other", "v"u8.ToArray());
        var path = Directory.EnumerateFiles(Path.Combine(_store.DirectoryPath, "entries")).Single(p => FileNames.TryDecode(Path.GetFileName(p)) == "live");
        var bytes = await System.IO.File.ReadAllBytesAsync(path);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(12), 1); // expiry far in the past; the checksum no longer matches
        await System.IO.File.WriteAllBytesAsync(path, bytes);

        var keys = new List<string>();
        await foreach (var key in _store.ListKeysAsync())
        {
            keys.Add(key);
        }

        Assert.That(keys.Order(StringComparer.Ordinal), Is.EqualTo(new[] { "live", "other" }), "the damaged entry is listed so that a read reports it");
        Assert.That(await _store.PurgeExpiredAsync(), Is.Zero, "a damaged header never decides a purge");
        Assert.That(System.IO.File.Exists(path), Is.True);
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await _store.GetAsync("live"));
    }

    [Test]
    public async Task ListKeys_HashedFileWhoseHeaderNamesAnotherKey_IsNotListed()
    {
        var longKey = new string('x', 300);
        await _store.SetAsync(longKey, "v"u8.ToArray());
        await _store.SetAsync("b", "v"u8.ToArray());
        var path = Directory.EnumerateFiles(Path.Combine(_store.DirectoryPath, "entries")).Single(p => FileNames.IsHashed(Path.GetFileName(p)));
        var bytes = await System.IO.File.ReadAllBytesAsync(path);
        bytes[EntryFile.HeaderSize] = (byte)'\u0001'; // the stored key now starts with a control character
        await System.IO.File.WriteAllBytesAsync(path, bytes);

        var keys = new List<string>();
        await foreach (var key in _store.ListKeysAsync())
        {
            keys.Add(key);
        }

        Assert.That(keys, Is.EqualTo(new[] { "b" }), "no phantom key, and no key listed twice");
    }

    private void FailFsync(string kind)
    {
        var root = _root;
        NativeMethods.InjectFsyncError = (what, path) => what == kind && path.StartsWith(root, StringComparison.Ordinal) ? 5 /* EIO */ : 0;
    }
}
