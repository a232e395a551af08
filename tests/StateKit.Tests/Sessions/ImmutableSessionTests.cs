using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace StateKit.Tests.Sessions;

/// <summary>Sessions of an immutable type reuse the state decoded from the same bytes; changed or damaged bytes are always decoded.</summary>
public sealed class ImmutableSessionTests
{
    [ImmutableState]
    public sealed record Chat(int Turns, string Text);

    public sealed class MutableChat
    {
        public int Turns { get; set; }
    }

    [Test]
    public async Task UnchangedSession_IsNotDecodedAgain_AndAnUpdateIsReadBackAsWritten()
    {
        await using var services = Build(out _);
        var sessions = services.GetRequiredService<ISessionManager<Chat>>();
        var created = await sessions.CreateAsync(new Chat(1, "hello"));
        var first = (await sessions.GetAsync(created.Id))!;
        var second = (await sessions.GetAsync(created.Id))!;
        Assert.That(second.State, Is.SameAs(first.State));
        Assert.That(first.State, Is.SameAs(created.State), "the record written at create is what the read finds");

        var updated = await sessions.UpdateAsync(second, s => s with { Turns = s.Turns + 1 });
        var after = (await sessions.GetAsync(created.Id))!;
        Assert.That(after.State, Is.SameAs(updated.State));
        Assert.That(after.State.Turns, Is.EqualTo(2));
    }

    [Test]
    public async Task ChangedByAnotherManager_IsDecodedAfresh()
    {
        await using var services = Build(out var store);
        var sessions = services.GetRequiredService<ISessionManager<Chat>>();
        var created = await sessions.CreateAsync(new Chat(1, "hello"));
        await sessions.GetAsync(created.Id);

        // A second app instance on the same store (its own manager, its own table of decoded states).
        var otherServices = new ServiceCollection();
        otherServices.AddStateKit().UseStore(_ => new Provider.NonDisposingStore(store)).AddSessions<Chat>();
        await using var other = otherServices.BuildServiceProvider();
        await other.GetRequiredService<ISessionManager<Chat>>().UpdateAsync(created.Id, s => s with { Text = "changed" });

        var read = (await sessions.GetAsync(created.Id))!;
        Assert.That(read.State, Is.EqualTo(new Chat(1, "changed")));
    }

    [Test]
    public async Task DamagedRecord_IsDetectedEvenWhenItsStateWasDecodedBefore()
    {
        await using var services = Build(out var store);
        var sessions = services.GetRequiredService<ISessionManager<Chat>>();
        var created = await sessions.CreateAsync(new Chat(1, new string('x', 100)));
        await sessions.GetAsync(created.Id);
        var key = await FirstKeyAsync(store, "sessions/");
        Assert.That(store.DamageValueForTest(key), Is.True);
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await sessions.GetAsync(created.Id));
    }

    [Test]
    public async Task MutableSessionType_GetsAFreshStatePerRead()
    {
        await using var services = Build(out _);
        var sessions = services.GetRequiredService<ISessionManager<MutableChat>>();
        var created = await sessions.CreateAsync(new MutableChat { Turns = 1 });
        var first = (await sessions.GetAsync(created.Id))!;
        first.State.Turns = 99; // the caller changes its copy
        var second = (await sessions.GetAsync(created.Id))!;
        Assert.That(second.State, Is.Not.SameAs(first.State));
        Assert.That(second.State.Turns, Is.EqualTo(1));
    }

    private static ServiceProvider Build(out MemoryStateStore store)
    {
        var memory = new MemoryStateStore();
        store = memory;
        var services = new ServiceCollection();
        services.AddStateKit().UseStore(_ => memory).AddSessions<Chat>().AddSessions<MutableChat>();
        return services.BuildServiceProvider();
    }

    private static async Task<string> FirstKeyAsync(IStateStore store, string prefix)
    {
        await foreach (var key in store.ListKeysAsync(prefix))
        {
            return key;
        }

        throw new InvalidOperationException("no key");
    }
}
