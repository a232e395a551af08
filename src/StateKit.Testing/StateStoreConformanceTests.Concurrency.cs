using System.Buffers.Binary;
using NUnit.Framework;

namespace StateKit.Testing;

/// <content>Cancellation and concurrency.</content>
public abstract partial class StateStoreConformanceTests<TStore>
{
    /// <summary>A cancelled token stops every kind of operation before it changes anything.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task AllOperations_CancelledToken_ThrowOperationCanceledAndWriteNothing()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var token = cts.Token;
        Assert.That(async () => await Store.GetAsync("k", token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.SetAsync("k", Bytes("v"), default, token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.SetManyAsync([new("k", Bytes("v"))], token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.DeleteAsync("k", null, token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.ListAppendAsync("l", [Bytes("v")], null, token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.ListRangeAsync("l", 0, -1, token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await Store.PurgeExpiredAsync(token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(
            async () =>
            {
                await foreach (var unused in Store.ListKeysAsync(string.Empty, token))
                {
                    Assert.Fail("no key should be listed after cancellation");
                }
            },
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(await Store.ExistsAsync("k"), Is.False);
        Assert.That(await Store.ListLengthAsync("l"), Is.EqualTo(0));
    }

    /// <summary>A listing cancelled midway stops with <see cref="OperationCanceledException"/>.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListKeysAsync_CancelledMidway_Stops()
    {
        for (var i = 0; i < 20; i++)
        {
            await Store.SetAsync($"k{i}", Bytes("v"));
        }
        using var cts = new CancellationTokenSource();
        var seen = 0;
        Assert.That(
            async () =>
            {
                await foreach (var unused in Store.ListKeysAsync(string.Empty, cts.Token))
                {
                    if (++seen == 3)
                    {
                        await cts.CancelAsync();
                    }
                }
            },
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(seen, Is.EqualTo(3));
    }

    /// <summary>16 tasks × 200 conditional increments of one counter end at exactly 3,200: no lost update.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task SetAsync_ParallelConditionalIncrements_LoseNoUpdate()
    {
        const int tasks = 16;
        const int incrementsPerTask = 200;
        await Store.SetAsync("counter", Counter(0));
        var conflicts = 0;

        await Task.WhenAll(Enumerable.Range(0, tasks).Select(_ => Task.Run(async () =>
        {
            for (var done = 0; done < incrementsPerTask;)
            {
                var current = await Store.GetAsync("counter");
                var next = BinaryPrimitives.ReadInt64LittleEndian(current!.Value.Span) + 1;
                try
                {
                    await Store.SetAsync("counter", Counter(next), StateWriteOptions.IfVersion(current.Version));
                    done++;
                }
                catch (StateConflictException)
                {
                    Interlocked.Increment(ref conflicts);
                }
            }
        })));

        var final = await Store.GetAsync("counter");
        Assert.That(BinaryPrimitives.ReadInt64LittleEndian(final!.Value.Span), Is.EqualTo(tasks * incrementsPerTask));
        Assert.That(final.Version, Is.EqualTo((tasks * incrementsPerTask) + 1));
        TestContext.Out.WriteLine($"{conflicts} conflicts were retried.");
    }

    /// <summary>Parallel appends to one list lose no item and duplicate none.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task ListAppendAsync_ParallelAppends_LoseNoItem()
    {
        const int tasks = 16;
        const int appendsPerTask = 50;
        var lengths = new System.Collections.Concurrent.ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < appendsPerTask; i++)
            {
                lengths.Add(await AppendAsync(Store, "log", $"{t}:{i}"));
            }
        })));

        var items = await RangeAsync(Store, "log");
        Assert.That(items, Has.Length.EqualTo(tasks * appendsPerTask));
        Assert.That(items, Is.Unique);
        Assert.That(lengths.OrderBy(l => l), Is.EqualTo(Enumerable.Range(1, tasks * appendsPerTask).Select(i => (long)i)), "each append returns a distinct new length");
        for (var t = 0; t < tasks; t++)
        {
            var own = items.Where(i => i.StartsWith($"{t}:", StringComparison.Ordinal)).ToArray();
            Assert.That(own, Is.EqualTo(Enumerable.Range(0, appendsPerTask).Select(i => $"{t}:{i}")), "one writer's items keep their order");
        }
    }

    /// <summary>Readers racing writers only ever see a complete value, never a torn mix.</summary>
    /// <returns>A task.</returns>
    [Test]
    public virtual async Task GetAsync_WhileParallelWritersReplaceValue_NeverSeesTornValue()
    {
        const int size = 4096;
        await Store.SetAsync("blob", Filled(0, size));
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(1, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await Store.SetAsync("blob", Filled((byte)((w * 50) + i), size));
            }
        })).ToArray();
        var torn = 0;
        var reads = 0;
        var reader = Task.Run(async () =>
        {
            while (!writers.All(w => w.IsCompleted))
            {
                var value = (await Store.GetAsync("blob"))!.Value.Span;
                reads++;
                if (value.Length != size || value.IndexOfAnyExcept(value[0]) >= 0)
                {
                    torn++;
                }
            }
        });
        await Task.WhenAll(writers);
        await reader;
        Assert.That(torn, Is.EqualTo(0), $"{torn} of {reads} reads saw a torn value");
        Assert.That((await Store.GetAsync("blob"))!.Version, Is.EqualTo(201));
    }

    private static byte[] Counter(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return bytes;
    }

    private static byte[] Filled(byte value, int size)
    {
        var bytes = new byte[size];
        Array.Fill(bytes, value);
        return bytes;
    }
}
