using MessagePack;
using MessagePack.Resolvers;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Serialization;

namespace StateKit.Tests.MessagePack;

/// <summary>StateKit.MessagePack: typed state through the codec and the provider, the envelope's format id, untrusted input.</summary>
public sealed class MessagePackStateSerializerTests
{
    [Test]
    public async Task UseMessagePack_ProviderAndSessions_RoundTripContractlessRecordsAndAttributedTypes()
    {
        var services = new ServiceCollection();
        services.AddStateKit().UseMessagePack().AddSessions<Chat>();
        await using var provider = services.BuildServiceProvider();
        Assert.That(provider.GetRequiredService<StateValueCodec>().Serializer, Is.InstanceOf<MessagePackStateSerializer>());
        var state = provider.GetRequiredService<IStateProvider>();

        var at = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.FromHours(2));
        await state.SetAsync(StateScope.Global, "chat", new Chat(3, at, ["hi", "there"]));
        await state.SetAsync(StateScope.Global, "point", new Point { X = 1, Y = -2 });
        await state.SetAsync(StateScope.Global, "profile", new Profile { Name = "Ada", Tags = new Dictionary<string, int> { ["a"] = 1 } });

        var chat = (await state.GetAsync<Chat>(StateScope.Global, "chat"))!.Value;
        Assert.That((chat.Turns, chat.Last, chat.Lines), Is.EqualTo((3, at, new[] { "hi", "there" })));
        Assert.That((await state.GetAsync<Point>(StateScope.Global, "point"))!.Value, Is.EqualTo(new Point { X = 1, Y = -2 }));
        var profile = (await state.GetAsync<Profile>(StateScope.Global, "profile"))!.Value;
        Assert.That((profile.Name, profile.Tags["a"]), Is.EqualTo(("Ada", 1)));

        var sessions = provider.GetRequiredService<ISessionManager<Chat>>();
        var session = await sessions.CreateAsync(new Chat(1, at, ["first"]));
        Assert.That((await sessions.GetAsync(session.Id))!.State.Lines, Is.EqualTo(new[] { "first" }));

        // Checkpoints and lists hold StateKit's own (internal) records: they go through MessagePack too.
        await state.AppendAsync(session.Scope, "log", [new Point { X = 1 }]);
        var checkpoint = await state.CreateCheckpointAsync(session.Scope, "before");
        await state.AppendAsync(session.Scope, "log", [new Point { X = 2 }]);
        await state.RestoreCheckpointAsync(session.Scope, checkpoint.Id);
        Assert.That(await state.GetRangeAsync<Point>(session.Scope, "log", 0, -1), Is.EqualTo(new[] { new Point { X = 1 } }));
    }

    [Test]
    public void Envelope_RecordsTheFormat_AndJsonDataIsRefusedAsCorrupted()
    {
        var messagePack = new StateValueCodec(new MessagePackStateSerializer());
        var json = new StateValueCodec(new JsonStateSerializer());
        var value = new Chat(2, DateTimeOffset.UnixEpoch, ["x"]);

        var encoded = messagePack.Encode(value);
        Assert.That(encoded[2], Is.EqualTo(MessagePackStateSerializer.MessagePackFormatId));
        Assert.That(encoded.Length, Is.LessThan(json.Encode(value).Length), "MessagePack is the smaller format");

        var ex = Assert.Throws<StateCorruptedException>(() => messagePack.Decode<Chat>(json.Encode(value), "k"));
        Assert.That(ex!.Message, Does.Contain("format 1"));
        Assert.Throws<StateCorruptedException>(() => json.Decode<Chat>(encoded, "k"));
    }

    [Test]
    public void Decode_PayloadOfAnotherShape_IsCorruptedNotAMessagePackException()
    {
        var codec = new StateValueCodec(new MessagePackStateSerializer());
        var ex = Assert.Throws<StateCorruptedException>(() => codec.Decode<Point>(codec.Encode("not a point"), "k"));
        Assert.That(ex!.InnerException, Is.InstanceOf<InvalidDataException>().With.InnerException.InstanceOf<MessagePackSerializationException>());
    }

    [Test]
    public void UntrustedDataMode_IsOnByDefault_AndRefusesAGraphDeeperThanItsLimit()
    {
        Assert.That(MessagePackStateSerializer.DefaultOptions.Security, Is.SameAs(MessagePackSecurity.UntrustedData));

        // A writer that trusts its data writes 600 nested arrays; the default (untrusted) reader stops at its depth limit.
        var trusting = new StateValueCodec(new MessagePackStateSerializer(
            ContractlessStandardResolver.Options.WithSecurity(MessagePackSecurity.TrustedData.WithMaximumObjectGraphDepth(1000))));
        object nested = "leaf";
        for (var i = 0; i < 600; i++)
        {
            nested = new[] { nested };
        }

        var encoded = trusting.Encode(nested);
        Assert.That(trusting.Decode<object>(encoded), Is.Not.Null);
        var ex = Assert.Throws<StateCorruptedException>(() => new StateValueCodec(new MessagePackStateSerializer()).Decode<object>(encoded, "deep"));
        Assert.That(ex!.ToString(), Does.Contain("depth"));
    }

    [Test]
    public async Task Serialize_TypeMessagePackCannotHandle_IsNotSupportedNamingItAndWritesNothing()
    {
        var services = new ServiceCollection();
        services.AddStateKit().UseMessagePack();
        await using var provider = services.BuildServiceProvider();
        var state = provider.GetRequiredService<IStateProvider>();

        var ex = await Assert.ThrowsAsync<NotSupportedException>(async () => await state.SetAsync(StateScope.Global, "hidden", new Hidden(1)));
        Assert.That(ex!.Message, Does.Contain(typeof(Hidden).FullName!).And.Contain("public"));
        Assert.That(await state.GetAsync<Point>(StateScope.Global, "hidden"), Is.Null, "nothing was written");
    }

    /// <summary>A type contractless MessagePack refuses: it is not public.</summary>
    /// <param name="Value">A value.</param>
    internal sealed record Hidden(int Value);

    /// <summary>A contractless record.</summary>
    /// <param name="Turns">Turns.</param>
    /// <param name="Last">Last turn.</param>
    /// <param name="Lines">Lines.</param>
    public sealed record Chat(int Turns, DateTimeOffset Last, string[] Lines);

    /// <summary>A contractless class.</summary>
    public sealed class Profile
    {
        /// <summary>Gets or sets the name.</summary>
        public string Name { get; set; } = string.Empty;

        /// <summary>Gets or sets the tags.</summary>
        public Dictionary<string, int> Tags { get; set; } = [];
    }

    /// <summary>An attributed type with integer keys.</summary>
    [MessagePackObject]
    public sealed record Point
    {
        /// <summary>Gets the x coordinate.</summary>
        [Key(0)]
        public int X { get; init; }

        /// <summary>Gets the y coordinate.</summary>
        [Key(1)]
        public int Y { get; init; }
    }
}
