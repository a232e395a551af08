using NUnit.Framework;
using StateKit.Tests.Resilience;

namespace StateKit.Tests.Issues;

/// <summary>
/// A fallback chain copies touches (issue 23, item 3): the fallback's copy takes the primary's new expiry (a touch keeps
/// the version, which the version-preserving write refuses), and a touch made on the fallback during an outage reaches
/// the primary at replay. On the pairs the README names (Redis → SQLite, PostgreSQL → file) and memory → memory.
/// </summary>
[TestFixture("memory", "memory")]
[TestFixture("redis", "sqlite")]
[TestFixture("postgres", "file")]
public sealed class FallbackTouchTests(string primaryKind, string fallbackKind)
{
    private static readonly FallbackStateStoreOptions Fast = new() { ProbeInterval = TimeSpan.FromMilliseconds(20), MaxProbeInterval = TimeSpan.FromMilliseconds(100) };
    private readonly List<Func<Task>> _cleanups = [];
    private IStateStore _primary = null!;
    private IStateStore _fallback = null!;
    private SwitchableStore _switch = null!;
    private FallbackStateStore _chain = null!;

    [SetUp]
    public void SetUp()
    {
        _primary = TestStores.Create(primaryKind, TimeProvider.System, out var primaryCleanup);
        _cleanups.Add(primaryCleanup);
        _fallback = TestStores.Create(fallbackKind, TimeProvider.System, out var fallbackCleanup);
        _cleanups.Add(fallbackCleanup);
        _switch = new SwitchableStore(_primary, ownsInner: false);
        _chain = new FallbackStateStore([_switch, _fallback], Fast, ownsFallbacks: false);
    }

    [TearDown]
    public async Task TearDown()
    {
        await _chain.DisposeAsync();
        await _primary.DisposeAsync();
        await _fallback.DisposeAsync();
        foreach (var cleanup in _cleanups)
        {
            await cleanup();
        }

        _cleanups.Clear();
    }

    [Test]
    public async Task Touch_WhileThePrimaryServes_MovesTheFallbackCopysExpiry()
    {
        await _chain.SetAsync("session", new byte[] { 1 }, new StateWriteOptions(null, TimeSpan.FromMinutes(5)));
        Assert.That(await _chain.TouchAsync("session", Timeout.InfiniteTimeSpan), Is.True);
        Assert.That((await _primary.GetAsync("session"))!.ExpiresAt, Is.Null);
        var copy = await _fallback.GetAsync("session");
        Assert.That((copy!.Version, copy.ExpiresAt), Is.EqualTo((1L, (DateTimeOffset?)null)), "the copy no longer expires in 5 minutes");

        Assert.That(await _chain.TouchAsync("session", TimeSpan.FromHours(2)), Is.True);
        var primaryExpiry = (await _primary.GetAsync("session"))!.ExpiresAt!.Value;
        Assert.That((await _fallback.GetAsync("session"))!.ExpiresAt!.Value, Is.EqualTo(primaryExpiry).Within(TimeSpan.FromSeconds(1)), "the copy expires with the primary");
    }

    [Test]
    public async Task Touch_DuringAnOutage_ReachesThePrimaryAtReplay()
    {
        await _chain.SetAsync("session", new byte[] { 1 }, new StateWriteOptions(null, TimeSpan.FromMinutes(5)));
        _switch.Down = true;
        Assert.That(await _chain.TouchAsync("session", TimeSpan.FromHours(3)), Is.True);
        Assert.That(_chain.IsOnFallback, Is.True);
        _switch.Down = false;
        await FallbackStateStoreTests.WaitAsync(() => !_chain.IsOnFallback && _chain.PendingReplay == 0, "the switch back");

        var replayed = await _primary.GetAsync("session");
        Assert.That(replayed!.Version, Is.EqualTo(1), "a touch is no new version");
        Assert.That(replayed.ExpiresAt!.Value, Is.GreaterThan(DateTimeOffset.UtcNow + TimeSpan.FromHours(2)), "the primary took the touch made during the outage");
        Assert.That(_chain.Conflicts, Is.Zero);
    }
}
