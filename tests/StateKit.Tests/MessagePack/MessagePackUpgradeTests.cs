using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Tests.Pipeline.Encryption;

namespace StateKit.Tests.MessagePack;

/// <summary>
/// Issue 26: versioned state types with the MessagePack serializer: typed upgrade steps read the old shape through
/// MessagePack; a session record (upgraded on its JSON document) is a typed error naming the serializer, not a wrong read.
/// </summary>
public sealed class MessagePackUpgradeTests
{
    [Test]
    public async Task TypedSteps_UpgradeMessagePackValues_AndSessionsOfAnOlderShapeAreRefusedClearly()
    {
        var shared = new MemoryStateStore();
        string sessionId;
        await using (var v1 = App(shared, b => b.AddSessions<Release1Chat>(o => o.Name = "chat")))
        {
            await v1.GetRequiredService<IStateProvider>().SetAsync(StateScope.Global, "p", new Release1Point(3, 4));
            sessionId = (await v1.GetRequiredService<ISessionManager<Release1Chat>>().CreateAsync(new Release1Chat(2))).Id;
        }

        await using var v2 = App(shared, b => b
            .AddStateUpgrades<Release2Point>(u => u.From<Release1Point, Release2Point>(1, p => new Release2Point(p.X, p.Y, 0)))
            .AddSessions<Release2Chat>(o => o.Name = "chat")
            .AddStateUpgrades<Release2Chat>(u => u.From<Release1Chat, Release2Chat>(1, c => new Release2Chat(c.Turns, "?"))));
        Assert.That((await v2.GetRequiredService<IStateProvider>().GetAsync<Release2Point>(StateScope.Global, "p"))!.Value, Is.EqualTo(new Release2Point(3, 4, 0)));
        var error = await Assert.ThrowsAsync<StateTypeVersionException>(async () => await v2.GetRequiredService<ISessionManager<Release2Chat>>().GetAsync(sessionId));
        Assert.That(error!.Message, Does.Contain("needs the JSON serializer").And.Contain("MessagePackStateSerializer"));
    }

    private static ServiceProvider App(MemoryStateStore shared, Action<StateKitBuilder> configure)
    {
        var services = new ServiceCollection();
        var builder = services.AddStateKit().UseStore(_ => new Borrowed(shared)).UseMessagePack();
        configure(builder);
        return services.BuildServiceProvider();
    }

    public sealed record Release1Point(int X, int Y);

    [StateVersion(2)]
    public sealed record Release2Point(int X, int Y, int Z);

    public sealed record Release1Chat(int Turns);

    [StateVersion(2)]
    public sealed record Release2Chat(int Turns, string Model);
}
