using NUnit.Framework;
using StateKit.Testing;

namespace StateKit.Tests.Issues;

/// <summary>
/// The memory budget holds when writes fail (issue 23, item 5): entries brought back from their spill files for a
/// conditional write or delete that then conflicts count toward the budget and spill again before the call returns.
/// </summary>
public sealed class MemoryBudgetFailedWriteTests
{
    private const long Budget = 1024;
    private readonly ManualTimeProvider _time = new(DateTimeOffset.UtcNow);
    private string _root = null!;
    private SpillingStateStore _store = null!;

    [SetUp]
    public async Task SetUp()
    {
        _root = Directory.CreateTempSubdirectory("statekit-spill-fail-").FullName;
        _store = new SpillingStateStore(new MemoryStateStore(null, _time), new MemoryBudgetOptions { MaxResidentBytes = Budget, SpillDirectory = _root }, _time);
        for (var i = 0; i < 100; i++)
        {
            await _store.SetAsync("k" + i, new byte[300]);
        }

        Assert.That(_store.ResidentBytes, Is.LessThanOrEqualTo(Budget));
    }

    [TearDown]
    public async Task TearDown()
    {
        await _store.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task UnderWriteBehind_ADeleteAndRecreateOfSpilledEntries_KeepsTheBudgetAndTheNewValues()
    {
        var journal = Directory.CreateTempSubdirectory("statekit-spill-wb-").FullName;
        try
        {
            await using var writeBehind = new WriteBehindStateStore(new StateKit.Tests.Provider.NonDisposingStore(_store), new WriteBehindOptions { JournalDirectory = journal, FlushInterval = TimeSpan.FromMinutes(10), SegmentBytes = 64 * 1024 }, timeProvider: _time);
            for (var i = 0; i < 100; i++)
            {
                await writeBehind.DeleteAsync("k" + i);
                await writeBehind.SetAsync("k" + i, new[] { (byte)i }, StateWriteOptions.IfNotExists);
            }

            await writeBehind.FlushAsync();
            Assert.That(writeBehind.Conflicts, Is.Zero);
            Assert.That(_store.ResidentBytes, Is.LessThanOrEqualTo(Budget));
            for (var i = 0; i < 100; i++)
            {
                var entry = await _store.GetAsync("k" + i);
                Assert.That((entry!.Version, entry.Value.ToArray()), Is.EqualTo((1L, new[] { (byte)i })), "the new life, restored from or spilled to disk");
            }
        }
        finally
        {
            Directory.Delete(journal, recursive: true);
        }
    }

    [Test]
    public async Task AConflictingConditionalBatch_LeavesTheBudgetHeld()
    {
        var writes = Enumerable.Range(0, 100).Select(i => new StateWrite("k" + i, new byte[300], StateWriteOptions.IfVersion(7))).ToArray();
        await Assert.ThrowsAsync<StateConflictException>(async () => await _store.SetManyAsync(writes));
        Assert.That(_store.ResidentBytes, Is.LessThanOrEqualTo(Budget));
    }

    [Test]
    public async Task StaleConditionalWritesAndDeletes_LeaveTheBudgetHeld()
    {
        for (var i = 0; i < 100; i++)
        {
            await Assert.ThrowsAsync<StateConflictException>(async () => await _store.DeleteAsync("k" + i, 7));
            await Assert.ThrowsAsync<StateConflictException>(async () => await _store.SetAsync("k" + i, new byte[300], StateWriteOptions.IfVersion(7)));
            Assert.That(_store.ResidentBytes, Is.LessThanOrEqualTo(Budget), $"after key {i}");
        }

        for (var i = 0; i < 100; i++)
        {
            Assert.That((await _store.GetAsync("k" + i))!.Version, Is.EqualTo(1), "nothing was lost or changed");
        }
    }
}
