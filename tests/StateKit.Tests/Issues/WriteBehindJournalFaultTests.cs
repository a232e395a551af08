using NUnit.Framework;
using StateKit.Internal;
using StateKit.Tests.Provider;
using StateKit.Tests.Resilience;

namespace StateKit.Tests.Issues;

/// <summary>
/// The write-behind journal when a new segment cannot be made (issue 23, item 2): a segment that still holds unflushed
/// acknowledged writes is never given up, a failed segment leaves no file, and a store started on a full disk says so.
/// </summary>
[NonParallelizable]
public sealed class WriteBehindJournalFaultTests
{
    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("statekit-wb-faults-").FullName;

    [TearDown]
    public void TearDown()
    {
        DurableFile.InjectedErrno = 0;
        Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task ASegmentThatCannotBeMade_WhileTheStoreIsDown_NeverCostsTheOlderSegmentsWrites()
    {
        var memory = new MemoryStateStore();
        var first = new WriteBehindStateStore(new WriteBehindStateStoreTests.FlushBlockingStore(new NonDisposingStore(memory)) { Blocked = true }, Options());
        for (var i = 0; i < 10; i++)
        {
            await first.SetAsync("k" + i, new[] { (byte)i });
        }

        DurableFile.InjectedErrno = 5; // EIO: the next append's sync fails, then the new segment's sync fails too
        await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await first.SetAsync("x", new byte[] { 1 }));
        await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await first.SetAsync("y", new byte[] { 2 }));
        DurableFile.InjectedErrno = 0;
        await first.SetAsync("z", new byte[] { 3 });
        await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await first.FlushAsync(), "the store takes no flush");

        Assert.That(System.IO.File.Exists(Path.Combine(_root, "journal-00000001.log")), Is.True, "the first segment still holds ten unflushed writes");
        Assert.That(Directory.GetFiles(_root).Select(Path.GetFileName), Is.EquivalentTo(new[] { "journal-00000001.log", "journal-00000002.log" }), "the segment that failed left no file");
        await first.DisposeAsync(); // the flush fails again: everything stays in the journal (as after a kill)

        await using var second = new WriteBehindStateStore(new NonDisposingStore(memory), Options());
        await second.FlushAsync();
        for (var i = 0; i < 10; i++)
        {
            var entry = await memory.GetAsync("k" + i);
            Assert.That(entry, Is.Not.Null, $"acknowledged k{i} was lost");
            Assert.That((entry!.Version, entry.Value.ToArray()), Is.EqualTo((1L, new[] { (byte)i })));
        }

        Assert.That((await memory.GetAsync("z"))!.Value.ToArray(), Is.EqualTo(new byte[] { 3 }));
        Assert.That(await memory.GetAsync("y"), Is.Null, "never acknowledged");
    }

    [Test]
    public void AStoreStartedOnAFailingDisk_ThrowsUnavailable_AndLeavesNoSegment()
    {
        DurableFile.InjectedErrno = 28; // ENOSPC
        var error = Assert.Throws<StateStoreUnavailableException>(() => _ = new WriteBehindStateStore(new MemoryStateStore(), Options()));
        Assert.That(error!.Message, Does.Contain(_root), "names the journal directory");
        Assert.That(error.InnerException, Is.InstanceOf<IOException>());
        Assert.That(Directory.GetFiles(_root), Is.Empty);
    }

    private WriteBehindOptions Options() => new() { JournalDirectory = _root, FlushInterval = TimeSpan.FromMinutes(10), SegmentBytes = 64 * 1024 };
}
