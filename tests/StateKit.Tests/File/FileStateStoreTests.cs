using System.Text;
using NUnit.Framework;
using StateKit.File;
using StateKit.File.Internal;

namespace StateKit.Tests.File;

/// <summary>File-store behaviour beyond the shared contract: file names, damaged files, torn list tails.</summary>
public sealed class FileStateStoreTests
{
    private string _root = string.Empty;

    [SetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("statekit-file-").FullName;

    [TearDown]
    public void DeleteRoot() => Directory.Delete(_root, recursive: true);

    [TestCase("plain")]
    [TestCase("with/slash")]
    [TestCase("..a")]
    [TestCase("CON")]
    [TestCase("a:b*c?d\"e<f>g|h")]
    [TestCase("   ")]
    public void ForKey_AnyValidKey_IsOneSafeFileNameThatDecodesBack(string key)
    {
        var name = FileNames.ForKey(key);
        Assert.That(name, Does.Match("^[a-z0-9%_-]+$"), "only lower-case letters, digits, '-', '_' and '%' escapes");
        Assert.That(Path.GetFileName(name), Is.EqualTo(name));
        Assert.That(FileNames.TryDecode(name), Is.EqualTo(key));
    }

    [Test]
    public void ForKey_KeysDifferingOnlyInCaseOrEscapes_MapToDifferentNames()
    {
        string[] keys = ["a", "A", "%61", "%41", "a%", "a/b", "a%2fb", "a%2Fb"];
        Assert.That(keys.Select(FileNames.ForKey).Distinct().Count(), Is.EqualTo(keys.Length));
    }

    [Test]
    public void ForKey_LongKey_IsHashedAndDistinctFromItsNeighbour()
    {
        var a = FileNames.ForKey(new string('Z', 300) + "1");
        var b = FileNames.ForKey(new string('Z', 300) + "2");
        Assert.That(a, Does.StartWith("h").And.Length.EqualTo(65));
        Assert.That(a, Is.Not.EqualTo(b));
        Assert.That(FileNames.IsHashed(a), Is.True);
    }

    [Test]
    public async Task GetAsync_CorruptedEntryFile_ThrowsCorruptNamingTheFileAndOtherKeysStillWork()
    {
        await using var store = Open();
        await store.SetAsync("good", Encoding.UTF8.GetBytes("fine"));
        await store.SetAsync("bad", Encoding.UTF8.GetBytes("about to be damaged"));
        var path = Path.Combine(store.DirectoryPath, "entries", FileNames.ForKey("bad"));
        var bytes = await System.IO.File.ReadAllBytesAsync(path);
        bytes[^6] ^= 0xFF;
        await System.IO.File.WriteAllBytesAsync(path, bytes);

        var ex = await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("bad"));
        Assert.That(ex!.Location, Is.EqualTo(path));
        Assert.That(ex.Message, Does.Contain("checksum").And.Contain("'bad'").And.Contain(path));
        Assert.That(Encoding.UTF8.GetString((await store.GetAsync("good"))!.Value.Span), Is.EqualTo("fine"));
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.SetAsync("bad", new byte[] { 1 }, StateWriteOptions.IfVersion(1)));
    }

    [Test]
    public async Task SetAsync_UnconditionalOverCorruptedFile_ReplacesItAtVersionOne()
    {
        await using var store = Open();
        await store.SetAsync("k", new byte[] { 1, 2, 3 });
        await System.IO.File.WriteAllTextAsync(Path.Combine(store.DirectoryPath, "entries", FileNames.ForKey("k")), "garbage");
        Assert.That(await store.SetAsync("k", new byte[] { 9 }), Is.EqualTo(1));
        Assert.That((await store.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 9 }));
    }

    [Test]
    public async Task GetAsync_TruncatedOrForeignFiles_ThrowCorruptNotCrash()
    {
        await using var store = Open();
        await store.SetAsync("k", new byte[100]);
        var path = Path.Combine(store.DirectoryPath, "entries", FileNames.ForKey("k"));
        var bytes = await System.IO.File.ReadAllBytesAsync(path);
        await System.IO.File.WriteAllBytesAsync(path, bytes[..50]);
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("k"));
        await System.IO.File.WriteAllBytesAsync(path, []);
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("k"));
    }

    [Test]
    public async Task ListKeysAsync_ForeignFilesInDirectory_AreIgnored()
    {
        await using var store = Open();
        await store.SetAsync("real", new byte[] { 1 });
        await System.IO.File.WriteAllTextAsync(Path.Combine(store.DirectoryPath, "entries", "README.txt"), "not ours");
        await System.IO.File.WriteAllTextAsync(Path.Combine(store.DirectoryPath, "entries", "h" + new string('0', 64)), "not ours");
        var keys = new List<string>();
        await foreach (var key in store.ListKeysAsync())
        {
            keys.Add(key);
        }

        Assert.That(keys, Is.EqualTo(new[] { "real" }));
    }

    [Test]
    public async Task ListRangeAsync_TornAppendPastTheCommittedLength_IsDroppedAndEveryAcknowledgedItemSurvives()
    {
        await using var store = Open();
        await store.ListAppendAsync("chat", [Encoding.UTF8.GetBytes("one"), Encoding.UTF8.GetBytes("two")]);
        await store.ListAppendAsync("chat", [Encoding.UTF8.GetBytes("three")]);
        var path = Path.Combine(store.DirectoryPath, "lists", FileNames.ForKey("chat"));
        using (var stream = new FileStream(path, FileMode.Append))
        {
            // A crash in the middle of an append: its record header says 100 bytes, 10 made it to the disk.
            stream.Write([2, 100, 0, 0, 0, .. Enumerable.Repeat((byte)'x', 10)]);
        }

        await using var reopened = Open();
        Assert.That((await reopened.ListRangeAsync("chat")).Select(i => Encoding.UTF8.GetString(i.Span)), Is.EqualTo(new[] { "one", "two", "three" }));
        Assert.That(await reopened.ListAppendAsync("chat", [Encoding.UTF8.GetBytes("four")]), Is.EqualTo(4));
        Assert.That((await reopened.ListRangeAsync("chat")).Select(i => Encoding.UTF8.GetString(i.Span)), Is.EqualTo(new[] { "one", "two", "three", "four" }));
    }

    [Test]
    public async Task ListRangeAsync_DamagedMiddleRecord_ThrowsCorrupt()
    {
        await using var store = Open();
        await store.ListAppendAsync("chat", [new byte[] { 1, 1, 1, 1 }, new byte[] { 2, 2, 2, 2 }, new byte[] { 3, 3, 3, 3 }]);
        var path = Path.Combine(store.DirectoryPath, "lists", FileNames.ForKey("chat"));
        var bytes = await System.IO.File.ReadAllBytesAsync(path);
        var at = bytes.AsSpan().IndexOf(new byte[] { 2, 2, 2, 2 });
        bytes[at] = 7;
        await System.IO.File.WriteAllBytesAsync(path, bytes);
        var ex = await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.ListRangeAsync("chat"));
        Assert.That(ex!.Location, Is.EqualTo(path));
        Assert.That(await store.ListDeleteAsync("chat"), Is.False, "a damaged list can be deleted");
        Assert.That(System.IO.File.Exists(path), Is.False);
    }

    [Test]
    public async Task ListLengthAsync_AnotherInstanceAppends_SeesNewLength()
    {
        await using var first = Open();
        await using var second = Open();
        await first.ListAppendAsync("chat", [new byte[] { 1 }]);
        Assert.That(await second.ListLengthAsync("chat"), Is.EqualTo(1));
        await second.ListAppendAsync("chat", [new byte[] { 2 }]);
        Assert.That(await first.ListAppendAsync("chat", [new byte[] { 3 }]), Is.EqualTo(3));
        await second.ListTrimAsync("chat", -1, -1);
        Assert.That(await first.ListAppendAsync("chat", [new byte[] { 4 }]), Is.EqualTo(2));
    }

    [Test]
    public async Task ListRangeAsync_OtherInstanceRewritesListToSameLength_SeesNewGeneration()
    {
        await using var reader = Open();
        await using var writer = Open();
        await writer.ListAppendAsync("chat", [Encoding.UTF8.GetBytes("a1"), Encoding.UTF8.GetBytes("b1"), Encoding.UTF8.GetBytes("c1")]);
        Assert.That(Texts(await reader.ListRangeAsync("chat")), Is.EqualTo(new[] { "a1", "b1", "c1" }));
        await writer.ListTrimAsync("chat", 0, 0);
        await writer.ListAppendAsync("chat", [Encoding.UTF8.GetBytes("x2"), Encoding.UTF8.GetBytes("y2")]);
        Assert.That(Texts(await reader.ListRangeAsync("chat")), Is.EqualTo(new[] { "a1", "x2", "y2" }));
        await writer.ListDeleteAsync("chat");
        await writer.ListAppendAsync("chat", [Encoding.UTF8.GetBytes("n1"), Encoding.UTF8.GetBytes("n2"), Encoding.UTF8.GetBytes("n3")]);
        Assert.That(Texts(await reader.ListRangeAsync("chat")), Is.EqualTo(new[] { "n1", "n2", "n3" }));
    }

    [Test]
    public async Task ListRangeAsync_LongListReadIncrementally_MatchesAppendsFromBothInstances()
    {
        await using var first = Open();
        await using var second = Open();
        for (var i = 0; i < 1000; i++)
        {
            await (i % 3 == 0 ? second : first).ListAppendAsync("log", Encoding.UTF8.GetBytes($"m{i}"));
            if (i % 97 == 0)
            {
                Assert.That(Texts(await first.ListRangeAsync("log", -1, -1)), Is.EqualTo(new[] { $"m{i}" }));
            }
        }

        Assert.That(Texts(await first.ListRangeAsync("log", -20, -1)), Is.EqualTo(Enumerable.Range(980, 20).Select(i => $"m{i}")));
        Assert.That(Texts(await second.ListRangeAsync("log")), Is.EqualTo(Enumerable.Range(0, 1000).Select(i => $"m{i}")));
        Assert.That(await second.ListLengthAsync("log"), Is.EqualTo(1000));
    }

    [Test]
    public async Task ListRangeAsync_GarbageAppendedAfterIndexWasBuilt_IsIgnoredThenCutByNextAppend()
    {
        await using var store = Open();
        await store.ListAppendAsync("chat", [Encoding.UTF8.GetBytes("one")]);
        Assert.That(await store.ListLengthAsync("chat"), Is.EqualTo(1));
        var path = Path.Combine(store.DirectoryPath, "lists", FileNames.ForKey("chat"));
        await using (var stream = new FileStream(path, FileMode.Append))
        {
            await stream.WriteAsync(new byte[] { 2, 50, 0, 0, 0, 1, 2, 3 });
        }

        Assert.That(Texts(await store.ListRangeAsync("chat")), Is.EqualTo(new[] { "one" }));
        Assert.That(await store.ListAppendAsync("chat", Encoding.UTF8.GetBytes("two")), Is.EqualTo(2));
        await using var fresh = Open();
        Assert.That(Texts(await fresh.ListRangeAsync("chat")), Is.EqualTo(new[] { "one", "two" }));
    }

    [Test]
    public void Constructor_MissingRootPath_ThrowsArgumentException()
    {
        Assert.That(() => new FileStateStore(new FileStateStoreOptions()), Throws.InstanceOf<ArgumentException>());
    }

    [Test]
    public async Task Entries_NeverLeaveTheRootDirectory()
    {
        await using var store = Open();
        foreach (var key in new[] { "a/b/c", "..a", "x/..y/...z", "~root" })
        {
            await store.SetAsync(key, new byte[] { 1 });
        }

        var entries = Path.Combine(store.DirectoryPath, "entries");
        Assert.That(Directory.GetFiles(_root, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f).StartsWith('k')).Select(Path.GetDirectoryName), Is.All.EqualTo(entries));
        Assert.That(Directory.GetFiles(Path.Combine(store.DirectoryPath, "entries")), Has.Length.EqualTo(4));
        Assert.That(Directory.GetDirectories(Path.Combine(store.DirectoryPath, "entries")), Is.Empty);
    }

    [Test]
    public async Task Operations_RootDirectoryDeletedWhileOpen_ThrowStoreUnavailableNamingStoreAndKey()
    {
        await using var store = Open();
        await store.SetAsync("k", new byte[] { 1 });
        Directory.Delete(_root, recursive: true);
        var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await store.SetAsync("k", new byte[] { 2 }));
        Assert.That(ex!.Message, Does.Contain("'file' store").And.Contain("'k'"));
        await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await store.ListAppendAsync("l", new byte[] { 1 }));
        Assert.That(await store.GetAsync("k"), Is.Null, "a read of a vanished directory finds nothing");
        await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await store.PurgeExpiredAsync());
        await Assert.ThrowsAsync<StateStoreUnavailableException>(async () =>
        {
            await foreach (var unused in store.ListKeysAsync())
            {
            }
        });
        Directory.CreateDirectory(_root);
    }

    private static string[] Texts(IReadOnlyList<ReadOnlyMemory<byte>> items) => items.Select(i => Encoding.UTF8.GetString(i.Span)).ToArray();

    private FileStateStore Open() => new(new FileStateStoreOptions { RootPath = _root });
}
