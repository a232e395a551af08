using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Internal;

namespace StateKit.Tests.Provider;

/// <summary>
/// The key layout is stored data: these pin it, written through the public API and read back raw, so a change to
/// <see cref="StoreKeyLayout"/> (the one place it is spelled out) shows up here before it moves anyone's state.
/// </summary>
public sealed class KeyLayoutTests
{
    [Test]
    public async Task ScopesSessionsAndTiers_UseTheDocumentedKeys()
    {
        var services = new ServiceCollection();
        services.AddStateKit().AddSessions<Counter>();
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStore>();
        var state = provider.GetRequiredService<IStateProvider>();

        await state.SetAsync(StateScope.Local("agent-1"), "notes", new Counter(1));
        await state.SetAsync(StateScope.Persistent("agent-1"), "profile", new Counter(2));
        var session = await provider.GetRequiredService<ISessionManager<Counter>>().CreateAsync(new Counter(3));
        var keys = new List<string>();
        await foreach (var key in store.ListKeysAsync())
        {
            keys.Add(key);
        }

        Assert.That(keys, Has.Member("local/agent-1/v/notes").And.Member("persistent/agent-1/v/profile"));
        Assert.That(keys.Where(k => k.StartsWith("sessions/", StringComparison.Ordinal)), Has.Exactly(1).EndsWith("/" + session.Id));
        Assert.That(keys.Where(k => k.StartsWith("session-scopes/", StringComparison.Ordinal)), Has.Exactly(1).Items);

        Assert.That(StoreKeyLayout.TierOf("local/a/v/k"), Is.EqualTo(StateTier.Local));
        Assert.That(StoreKeyLayout.TierOf("session/s/v/k"), Is.EqualTo(StateTier.Session));
        Assert.That(StoreKeyLayout.TierOf("sessions/Counter/id"), Is.EqualTo(StateTier.Session));
        Assert.That(StoreKeyLayout.TierOf("session-scopes/Counter/s"), Is.EqualTo(StateTier.Session));
        Assert.That(StoreKeyLayout.TierOf("global/global/v/k"), Is.EqualTo(StateTier.Global));
        Assert.That(StoreKeyLayout.TierOf("agents/sessions/x"), Is.Null);
        Assert.That(StoreKeyLayout.TierOf("localx/a"), Is.Null);
    }

    /// <summary>A session state.</summary>
    /// <param name="Value">A number.</param>
    public sealed record Counter(int Value);
}
