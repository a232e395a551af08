using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace StateKit.Tests.Issues.TenantA
{
    public sealed class Cart
    {
        public int Items { get; set; }
    }
}

namespace StateKit.Tests.Issues.TenantB
{
    public sealed class Cart
    {
        public int Items { get; set; }
    }
}

namespace StateKit.Tests.Issues
{
    /// <summary>Sessions stay isolated per registered type, the reserved global id is refused in per-session mode, and the session limit holds under concurrent creates.</summary>
    [TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
    public sealed class SessionIsolationTests(string kind) : StoreFixture(kind)
    {
        [Test]
        public async Task TwoTypesWithOneSimpleName_NeverSeeEachOthersSessions()
        {
            var container = Container(b => b.AddSessions<TenantA.Cart>().AddSessions<TenantB.Cart>());
            var a = container.GetRequiredService<ISessionManager<TenantA.Cart>>();
            var b = container.GetRequiredService<ISessionManager<TenantB.Cart>>();
            var session = await a.CreateAsync(new TenantA.Cart { Items = 3 });

            Assert.That(await b.GetAsync(session.Id), Is.Null);
            Assert.That(async () => await b.UpdateAsync(session.Id, c => c), Throws.InstanceOf<SessionNotFoundException>());
            Assert.That(await b.DeleteAsync(session.Id), Is.False);
            Assert.That(await b.ListActiveAsync().CountAsync(), Is.Zero);
            Assert.That((await a.GetAsync(session.Id))!.State.Items, Is.EqualTo(3));
        }

        [Test]
        public void TwoTypesGivenOneName_AreRefusedWhenResolved()
        {
            var container = Container(b => b.AddSessions<TenantA.Cart>(o => o.Name = "cart").AddSessions<TenantB.Cart>(o => o.Name = "cart"));
            _ = container.GetRequiredService<ISessionManager<TenantA.Cart>>();
            var ex = Assert.Throws<InvalidOperationException>(() => container.GetRequiredService<ISessionManager<TenantB.Cart>>());
            Assert.That(ex!.Message, Does.Contain("'cart'"));
        }

        [Test]
        public async Task NamedSessions_KeepTheirRecordsUnderTheName()
        {
            var first = Container(b => b.AddSessions<TenantA.Cart>(o => o.Name = "cart")).GetRequiredService<ISessionManager<TenantA.Cart>>();
            var session = await first.CreateAsync(new TenantA.Cart { Items = 2 });
            var renamed = Container(b => b.AddSessions<TenantB.Cart>(o => o.Name = "cart")).GetRequiredService<ISessionManager<TenantB.Cart>>();
            Assert.That((await renamed.GetAsync(session.Id))!.State.Items, Is.EqualTo(2), "a type renamed with its name pinned finds its sessions");
        }

        [Test]
        public async Task PerSession_ReservedGlobalId_IsRefusedLikeAnyInvalidId()
        {
            var sessions = Container(b => b.AddSessions<TenantA.Cart>(o => o.InvalidId = InvalidSessionIdBehavior.Throw)).GetRequiredService<ISessionManager<TenantA.Cart>>();
            Assert.That(async () => await sessions.UpdateAsync("global", c => c), Throws.InstanceOf<InvalidSessionIdException>());
            Assert.That(async () => await sessions.DeleteAsync("global"), Throws.InstanceOf<InvalidSessionIdException>());
            Assert.That(async () => await sessions.GetAsync("global"), Throws.InstanceOf<InvalidSessionIdException>());
            Assert.That(await sessions.ListActiveAsync().CountAsync(), Is.Zero);
        }

        [Test]
        public async Task MaxSessions_ConcurrentCreates_NeverExceedTheLimit()
        {
            var sessions = Container(b => b.AddSessions<TenantA.Cart>(o => o.MaxSessions = 10)).GetRequiredService<ISessionManager<TenantA.Cart>>();
            await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(async () => await sessions.CreateAsync())));
            Assert.That(await sessions.ListActiveAsync().CountAsync(), Is.EqualTo(10));
            Assert.That(sessions.GetStats().Evicted, Is.EqualTo(90));
            Assert.That(sessions.GetStats().Active, Is.EqualTo(10));
        }
    }
}
