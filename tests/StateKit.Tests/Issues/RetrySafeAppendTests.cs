using NUnit.Framework;
using StateKit.Tests.Provider;

namespace StateKit.Tests.Issues;

/// <summary>
/// A retried append after "may have applied" never duplicates items (issue 23, item 10): <c>ListAppendOnceAsync</c> on
/// every store, whether the failed attempt had landed or not.
/// </summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class RetrySafeAppendTests(string kind) : StoreFixture(kind)
{
    [TestCase(true)]
    [TestCase(false)]
    public async Task AnAppendWhoseOutcomeWasUnknown_IsInTheListExactlyOnce(bool landed)
    {
        await Store.ListAppendAsync("l", [new byte[] { 1 }, new byte[] { 2 }]);
        var flaky = new IndeterminateAppendStore(Store) { Land = landed };
        var length = await flaky.ListAppendOnceAsync("l", [new byte[] { 3 }, new byte[] { 4 }, new byte[] { 5 }]);
        Assert.That(length, Is.EqualTo(5));
        Assert.That((await Store.ListRangeAsync("l")).Select(i => (int)i.Span[0]), Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
        Assert.That(flaky.Appends, Is.EqualTo(landed ? 1 : 2), landed ? "found, not appended again" : "not there: appended again");
    }

    [Test]
    public async Task ThePlainAppend_RetriedByHand_Duplicates_WhichIsWhyTheHelperExists()
    {
        var flaky = new IndeterminateAppendStore(Store) { Land = true };
        var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await flaky.ListAppendAsync("l", [new byte[] { 3 }]));
        Assert.That(ex!.WriteMayHaveApplied, Is.True);
        await flaky.ListAppendAsync("l", [new byte[] { 3 }]);
        Assert.That(await Store.ListLengthAsync("l"), Is.EqualTo(2));
    }

    [Test]
    public async Task IdenticalEarlierItems_AreNotTakenForThisAppend()
    {
        // The same batch already in the list before this append started: a failed attempt that did not land is appended.
        await Store.ListAppendAsync("l", [new byte[] { 7 }, new byte[] { 8 }]);
        var flaky = new IndeterminateAppendStore(Store) { Land = false };
        Assert.That(await flaky.ListAppendOnceAsync("l", [new byte[] { 7 }, new byte[] { 8 }]), Is.EqualTo(4));
    }

    /// <summary>Fails the first append as a lost reply does: the store may or may not have applied it.</summary>
    private sealed class IndeterminateAppendStore(IStateStore inner) : DelegatingStore(inner)
    {
        public bool Land { get; init; }

        public int Appends { get; private set; }

        public override async ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        {
            Appends++;
            if (Appends == 1)
            {
                if (Land)
                {
                    await base.ListAppendAsync(key, items, timeToLive, cancellationToken);
                }

                throw new StateStoreUnavailableException(Name, "ListAppend", key, "the reply was lost (test)", null, writeMayHaveApplied: true);
            }

            return await base.ListAppendAsync(key, items, timeToLive, cancellationToken);
        }

        protected override ValueTask DisposeAsyncCore() => ValueTask.CompletedTask;
    }
}
