using NUnit.Framework;
using StateKit.Internal;

namespace StateKit.Tests.Hybrid;

/// <summary>
/// Another instance's update whose notice races this instance's conditional write that it beat: the notice is held
/// back while the write runs and reported when it fails, or classified as another instance's when it comes before or
/// after. Before, a notice held back after the failed write had been checked (and before its pending entry was removed)
/// was never reported.
/// </summary>
public sealed class SessionRemoteEventsRaceTests
{
    [Test]
    public async Task ANoticeRacingAFailedConditionalWrite_IsReportedExactlyOnce_WhateverTheOrder()
    {
        const int rounds = 20_000;
        var reported = 0;
        var classified = 0;
        await using var memory = new MemoryStateStore();
        var events = new SessionRemoteEvents("sessions/t/", (_, _) => Interlocked.Increment(ref reported));
        for (var i = 0; i < rounds; i++)
        {
            var key = "sessions/t/" + i;
            await memory.SetAsync(key, new byte[] { 1 });
            await memory.SetAsync(key, new byte[] { 2 }); // another instance's update: version 2
            var notice = new StateStoreChange(key, StateStoreChangeKind.Set, 2);
            var delivery = Task.Run(() =>
            {
                if (events.Classify(notice) is not null)
                {
                    Interlocked.Increment(ref classified);
                }
            });
            try
            {
                await events.SetAsync(memory, key, new byte[] { 3 }, StateWriteOptions.IfVersion(1), CancellationToken.None); // this instance, at the old version
                Assert.Fail("the write at version 1 must conflict");
            }
            catch (StateConflictException)
            {
            }

            await delivery;
        }

        Assert.That(reported + classified, Is.EqualTo(rounds), $"{reported} reported after the failed write, {classified} classified on arrival");
    }
}
