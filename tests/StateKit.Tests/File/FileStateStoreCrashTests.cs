using System.Buffers.Binary;
using NUnit.Framework;
using StateKit.CrashWriter;
using StateKit.File;

namespace StateKit.Tests.File;

/// <summary>Kills a writer process at random moments and checks that nothing is ever torn.</summary>
public sealed class FileStateStoreCrashTests
{
    private const int Keys = 8;
    private const int Kills = 24;

    [Test]
    public async Task KilledWriter_AtRandomMoments_EveryEntryIsCompleteOldOrNewValue()
    {
        var root = Directory.CreateTempSubdirectory("statekit-crash-").FullName;
        try
        {
            var random = new Random(20261121);
            long lastLog = 0;
            var progressed = 0;
            var leftTempFiles = 0;
            for (var kill = 0; kill < Kills; kill++)
            {
                using (var child = ChildProcess.Start("write", root, Keys.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                {
                    try
                    {
                        // "running" comes after the first complete round, so every run has written something.
                        var ready = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                        var running = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                        await Task.Delay(random.Next(0, 60));
                        if (ready != "ready" || running != "running" || child.HasExited)
                        {
                            child.Kill();
                            Assert.Fail($"the writer must be writing when it is killed; it said '{ready}', '{running}': {await child.StandardError.ReadToEndAsync()}");
                        }
                    }
                    finally
                    {
                        child.Kill();
                        await child.WaitForExitAsync();
                    }
                }

                var locks = Directory.GetDirectories(root).Select(d => Path.Combine(d, "locks")).Where(Directory.Exists).ToArray();
                leftTempFiles += locks.Sum(l => Directory.GetFiles(l, "*.tmp").Length);
                await using var store = new FileStateStore(new FileStateStoreOptions { RootPath = root });
                Assert.That(Directory.EnumerateFiles(Path.Combine(store.DirectoryPath, "locks"), "*.tmp"), Is.Empty, "opening the store removes abandoned temp files");
                for (var k = 0; k < Keys; k++)
                {
                    var entry = await store.GetAsync(Payloads.Key(k));
                    if (entry is null)
                    {
                        continue;
                    }

                    var problem = Payloads.Check(entry.Value.Span, k, out var round);
                    Assert.That(problem, Is.Null, $"kill {kill}: key {k} is torn");
                    Assert.That(round, Is.EqualTo(entry.Version), $"kill {kill}: key {k} content belongs to another version");
                }

                var log = await store.ListRangeAsync("log");
                for (var i = 0; i < log.Count; i++)
                {
                    Assert.That(BinaryPrimitives.ReadInt64LittleEndian(log[i].Span), Is.EqualTo(i + 1), $"kill {kill}: list item {i}");
                }

                if (log.Count > lastLog)
                {
                    progressed++;
                }

                lastLog = log.Count;
            }

            TestContext.Out.WriteLine($"{Kills} kills; the list reached {lastLog} items; {leftTempFiles} kills left a temp file behind (killed mid-write).");
            Assert.That(progressed, Is.EqualTo(Kills), "every run completes at least one round before it is killed");
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
