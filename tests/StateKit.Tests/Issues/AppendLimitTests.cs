using NUnit.Framework;

namespace StateKit.Tests.Issues;

/// <summary>A list append is bounded (issue 30, item 9): past <c>MaxAppendItems</c> it is refused before anything is stored, on every store.</summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class AppendLimitTests(string kind) : StoreFixture(kind)
{
    [Test]
    public async Task AnAppendOverTheLimit_IsRefused_AndWritesNothing()
    {
        Assert.That(await Store.ListAppendAsync("l", [new byte[] { 1 }, new byte[] { 2 }, new byte[] { 3 }]), Is.EqualTo(3), "at the limit");
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.ListAppendAsync("l", [new byte[] { 4 }, new byte[] { 5 }, new byte[] { 6 }, new byte[] { 7 }]));
        Assert.That(error!.Message, Does.Contain("MaxAppendItems"));
        Assert.That(await Store.ListLengthAsync("l"), Is.EqualTo(3));
    }

    [Test]
    public void TheDefault_IsTenThousandItems() => Assert.That(new StateStoreOptions().MaxAppendItems, Is.EqualTo(10_000));

    protected override void ConfigureStore(StateStoreOptions options) => options.MaxAppendItems = 3;
}
