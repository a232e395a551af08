using Microsoft.Data.Sqlite;
using NUnit.Framework;
using StateKit.File;
using StateKit.Sqlite;

namespace StateKit.Tests.Issues;

/// <summary>
/// Stored state is private to its owner (issue 30, items 3 and 5): what StateKit creates is 0700 / 0600 whatever the
/// umask (an option widens it), and a symlink planted in the store's directory never redirects a write.
/// </summary>
[NonParallelizable]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PrivateFileModeTests
{
    private const UnixFileMode File0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Dir0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private string _root = null!;

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("statekit-modes-").FullName;
    }

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task TheFileStore_CreatesEverythingForItsOwnerOnly()
    {
        var root = Path.Combine(_root, "files");
        await using (var store = new FileStateStore(new FileStateStoreOptions { RootPath = root, KeyPrefix = "app" }))
        {
            await store.SetAsync("session/1", new byte[] { 1 });
            await store.ListAppendAsync("chat/1", [new byte[] { 2 }]);
        }

        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories);
        Assert.That(files, Is.Not.Empty);
        Assert.That(files.Where(f => System.IO.File.GetUnixFileMode(f) != File0600), Is.Empty, "files 0600");
        var directories = Directory.GetDirectories(root, "*", SearchOption.AllDirectories).Append(root);
        Assert.That(directories.Where(d => System.IO.File.GetUnixFileMode(d) != Dir0700), Is.Empty, "directories 0700");
    }

    [Test]
    public async Task TheFileStoresMode_CanBeWidened()
    {
        var root = Path.Combine(_root, "shared");
        var groupRead = File0600 | UnixFileMode.GroupRead;
        await using (var store = new FileStateStore(new FileStateStoreOptions { RootPath = root, FileMode = groupRead }))
        {
            await store.SetAsync("k", new byte[] { 1 });
        }

        Assert.That(Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(System.IO.File.GetUnixFileMode).Distinct(), Is.EqualTo(new[] { groupRead }));
        Assert.That(System.IO.File.GetUnixFileMode(root), Is.EqualTo(Dir0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute));
    }

    [Test]
    public async Task SqliteDatabase_WriteBehindJournal_AndSpillSegments_AreForTheirOwnerOnly()
    {
        var database = Path.Combine(_root, "db", "state.db");
        await using (var sqlite = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = database }))
        {
            await sqlite.SetAsync("k", new byte[] { 1 });
            Assert.That(System.IO.File.GetUnixFileMode(database), Is.EqualTo(File0600));
            Assert.That(System.IO.File.GetUnixFileMode(database + "-wal"), Is.EqualTo(File0600), "SQLite copies the database file's mode");
        }

        Assert.That(System.IO.File.GetUnixFileMode(Path.GetDirectoryName(database)!), Is.EqualTo(Dir0700));

        var journal = Path.Combine(_root, "journal");
        await using (var writeBehind = new WriteBehindStateStore(new MemoryStateStore(), new WriteBehindOptions { JournalDirectory = journal, SegmentBytes = 64 * 1024 }))
        {
            await writeBehind.SetAsync("k", new byte[] { 1 });
            Assert.That(Directory.GetFiles(journal).Select(System.IO.File.GetUnixFileMode).Distinct(), Is.EqualTo(new[] { File0600 }));
        }

        Assert.That(System.IO.File.GetUnixFileMode(journal), Is.EqualTo(Dir0700));

        var spill = Path.Combine(_root, "spill");
        await using var budget = new SpillingStateStore(new MemoryStateStore(), new MemoryBudgetOptions { MaxResidentBytes = 1024, SpillDirectory = spill });
        for (var i = 0; i < 20; i++)
        {
            await budget.SetAsync("k" + i, new byte[200]);
        }

        Assert.That(budget.SpilledCount, Is.GreaterThan(0));
        Assert.That(Directory.GetFiles(spill, "*", SearchOption.AllDirectories).Select(System.IO.File.GetUnixFileMode).Distinct(), Is.EqualTo(new[] { File0600 }));
        Assert.That(Directory.GetDirectories(spill).Append(spill).Select(System.IO.File.GetUnixFileMode).Distinct(), Is.EqualTo(new[] { Dir0700 }));
    }

    [Test]
    public async Task SymlinksPlantedAtTempNames_NeverRedirectAWrite()
    {
        var root = Path.Combine(_root, "files");
        var outside = Path.Combine(_root, "outside.txt");
        await System.IO.File.WriteAllTextAsync(outside, "precious");
        await using var store = new FileStateStore(new FileStateStoreOptions { RootPath = root });
        await store.SetAsync("warm-up", new byte[] { 0 });
        var locks = Directory.GetDirectories(root, "locks", SearchOption.AllDirectories).Single();
        for (var stripe = 0; stripe < 64; stripe++)
        {
            System.IO.File.CreateSymbolicLink(Path.Combine(locks, $"{stripe:D2}.tmp"), outside); // the old, predictable temp names
        }

        for (var i = 0; i < 50; i++)
        {
            await store.SetAsync("k" + i, "attacker-controlled?"u8.ToArray());
        }

        Assert.That(await System.IO.File.ReadAllTextAsync(outside), Is.EqualTo("precious"), "nothing outside the store was written");
        var entries = Directory.GetFiles(Path.GetDirectoryName(locks)!, "*", SearchOption.AllDirectories).Where(f => !f.StartsWith(locks, StringComparison.Ordinal));
        Assert.That(entries.Where(f => new FileInfo(f).LinkTarget is not null), Is.Empty, "no entry became a symlink");
        Assert.That((await store.GetAsync("k7"))!.Value.ToArray(), Is.EqualTo("attacker-controlled?"u8.ToArray()));
    }
}
