using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace StateKit.Tests.Hybrid;

/// <summary>The typed fast path: with an L1 tier, an unchanged value of an immutable type is decoded once.</summary>
public sealed class TypedFastPathTests
{
    [Test]
    public async Task ImmutableType_WithL1_RepeatedReadsShareOneDecodedInstance_UntilItChanges()
    {
        await using var services = Build(l1: true);
        var state = services.GetRequiredService<IStateProvider>();
        await state.SetAsync(StateScope.Global, "doc", new Doc("a", 1));
        var first = await state.GetAsync<Doc>(StateScope.Global, "doc");
        Assert.That(await state.GetAsync<Doc>(StateScope.Global, "doc"), Is.SameAs(first), "no decode: the instance decoded first");

        await state.SetAsync(StateScope.Global, "doc", new Doc("b", 2));
        var changed = await state.GetAsync<Doc>(StateScope.Global, "doc");
        Assert.That(changed!.Value, Is.EqualTo(new Doc("b", 2)));
        Assert.That(changed, Is.Not.SameAs(first));
    }

    [Test]
    public async Task MutableType_OrNoL1_EveryReadGetsItsOwnCopy()
    {
        await using var withL1 = Build(l1: true);
        var state = withL1.GetRequiredService<IStateProvider>();
        await state.SetAsync(StateScope.Global, "m", new MutableDoc { Title = "a" });
        var first = await state.GetAsync<MutableDoc>(StateScope.Global, "m");
        first!.Value.Title = "changed by one caller";
        var second = await state.GetAsync<MutableDoc>(StateScope.Global, "m");
        Assert.That(second!.Value.Title, Is.EqualTo("a"), "a mutable type is never shared");

        await using var withoutL1 = Build(l1: false);
        var plain = withoutL1.GetRequiredService<IStateProvider>();
        await plain.SetAsync(StateScope.Global, "doc", new Doc("a", 1));
        Assert.That(await plain.GetAsync<Doc>(StateScope.Global, "doc"), Is.Not.SameAs(await plain.GetAsync<Doc>(StateScope.Global, "doc")));
    }

    [Test]
    public async Task ImmutableTypes_CanBeDeclaredInOptions_AndStringsAreImmutable()
    {
        var services = new ServiceCollection();
        services.AddStateKit(o => o.Telemetry = false).UseStore(_ => NoFeed()).UseL1();
        services.Configure<StateProviderOptions>(o => o.ImmutableTypes.Add(typeof(MutableDoc)));
        await using var provider = services.BuildServiceProvider();
        var state = provider.GetRequiredService<IStateProvider>();
        await state.SetAsync(StateScope.Global, "m", new MutableDoc { Title = "a" });
        await state.SetAsync(StateScope.Global, "s", "text");
        var doc = await state.GetAsync<MutableDoc>(StateScope.Global, "m");
        Assert.That(await state.GetAsync<MutableDoc>(StateScope.Global, "m"), Is.SameAs(doc));
        var text = await state.GetAsync<string>(StateScope.Global, "s");
        Assert.That(await state.GetAsync<string>(StateScope.Global, "s"), Is.SameAs(text));
    }

    // A memory store whose change feed is hidden: without it no write's own notice comes back later to drop the held
    // entry, so which read decodes is deterministic (the fast path does not depend on the feed).
    private static IStateStore NoFeed() => new Provider.OpaqueStore(new MemoryStateStore());

    private static ServiceProvider Build(bool l1)
    {
        var services = new ServiceCollection();
        var builder = services.AddStateKit(o => o.Telemetry = false).UseStore(_ => NoFeed());
        if (l1)
        {
            builder.UseL1();
        }

        return services.BuildServiceProvider();
    }

    /// <summary>An immutable state type.</summary>
    [ImmutableState]
    public sealed record Doc(string Title, int Revision);

    /// <summary>A mutable one.</summary>
    public sealed class MutableDoc
    {
        public string Title { get; set; } = string.Empty;
    }
}
