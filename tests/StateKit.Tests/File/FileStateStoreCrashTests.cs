using System.Buffers.Binary;
using NUnit.Framework;
using StateKit.CrashWriter;
using StateKit.File;

namespace StateKit.Tests.File;

/// <summary>Kills a writer process at random moments and checks that nothing is ever torn.</summary>
public sealed class FileStateStoreCrashTests
{
    private const int Kills = 24;

    [Test]
    public async Task KilledWriter_AtRandomMoments_EveryEntryIsCompleteOldOrNewValue()
    {
        var root = Directory.CreateTempSubdirectory("statekit-crash-").FullName;
        try
        {
            var leftTempFiles = 0;
            await CrashTest.KillWriterRepeatedlyAsync(root, Kills, () =>
            {
                var locks = Directory.GetDirectories(root).Select(d => Path.Combine(d, "locks")).Where(Directory.Exists).ToArray();
                leftTempFiles += locks.Sum(l => Directory.GetFiles(l, "*.tmp").Length);
                var store = new FileStateStore(new FileStateStoreOptions { RootPath = root });
                Assert.That(Directory.EnumerateFiles(Path.Combine(store.DirectoryPath, "locks"), "*.tmp"), Is.Empty, "opening the store removes abandoned temp files");
                return Task.FromResult<IStateStore>(store);
            });
            TestContext.Out.WriteLine($"{leftTempFiles} of {Kills} kills left a temp file behind (killed mid-write).");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public async Task TwoProcesses_ConditionalIncrementsOnOneKey_LoseNoUpdate()
    {
        var root = Directory.CreateTempSubdirectory("statekit-multiprocess-").FullName;
        try
        {
            const int perProcess = 300;
            using var first = ChildProcess.Start("increment", root, perProcess.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var second = ChildProcess.Start("increment", root, perProcess.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await Task.WhenAll(first.WaitForExitAsync(), second.WaitForExitAsync()).WaitAsync(TimeSpan.FromMinutes(3));
            Assert.That(first.ExitCode, Is.EqualTo(0), await first.StandardError.ReadToEndAsync());
            Assert.That(second.ExitCode, Is.EqualTo(0), await second.StandardError.ReadToEndAsync());

            await using var store = new FileStateStore(new FileStateStoreOptions { RootPath = root });
            var counter = await store.GetAsync("counter");
            Assert.That(BinaryPrimitives.ReadInt64LittleEndian(counter!.Value.Span), Is.EqualTo(2 * perProcess));
            Assert.That(counter.Version, Is.EqualTo(2 * perProcess));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
