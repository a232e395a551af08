using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Serialization;

namespace StateKit.Tests.Serialization;

/// <summary>Issue 26: upgrade steps are checked when they are registered, and the codec writes and reads the schema version.</summary>
public sealed class StateUpgradeRegistrationTests
{
    [Test]
    public void Steps_WithAGap_NotReachingTheCurrentVersion_NotChaining_OrOutOfRange_AreRefused()
    {
        var gap = Assert.Throws<ArgumentException>(() => Builder().AddStateUpgrades<V4>(u => u.FromJson(1, d => d).FromJson(3, d => d)));
        Assert.That(gap!.Message, Does.Contain("no upgrade step from version 2"));
        var short_ = Assert.Throws<ArgumentException>(() => Builder().AddStateUpgrades<V4>(u => u.FromJson(1, d => d).FromJson(2, d => d)));
        Assert.That(short_!.Message, Does.Contain("add the step from 3"));
        var chain = Assert.Throws<ArgumentException>(() => Builder().AddStateUpgrades<V4>(u => u.From<V1, string>(1, v => "x").From<V1, V1>(2, v => v).From<V1, V4>(3, v => new V4())));
        Assert.That(chain!.Message, Does.Contain("returns String, but version 2 is read as V1"));
        var last = Assert.Throws<ArgumentException>(() => Builder().AddStateUpgrades<V4>(u => u.FromJson(1, d => d).FromJson(2, d => d).From<V1, V1>(3, v => v)));
        Assert.That(last!.Message, Does.Contain("returns V1, but version 4 is read as V4"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Builder().AddStateUpgrades<V4>(u => u.FromJson(4, d => d)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Builder().AddStateUpgrades<V4>(u => u.FromJson(0, d => d)));
        Assert.Throws<ArgumentException>(() => Builder().AddStateUpgrades<V4>(u => u.FromJson(3, d => d).FromJson(3, d => d)));
        var twice = Builder().AddStateUpgrades<V4>(u => u.FromJson(3, d => d));
        Assert.Throws<ArgumentException>(() => twice.AddStateUpgrades<V4>(u => u.FromJson(3, d => d)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new StateVersionAttribute(0));
    }

    [Test]
    public void TheEnvelope_CarriesTheSchemaVersion_OnlyAboveVersion1_AndItsChecksumCoversIt()
    {
        var codec = new StateValueCodec();
        var v1 = codec.Encode(new V1());
        var v4 = codec.Encode(new V4 { Name = "x" });
        Assert.That(v1[1], Is.EqualTo(1), "a type at version 1 keeps the version-1 envelope, byte for byte as before");
        Assert.That(v4[1], Is.EqualTo(2));
        Assert.That(BitConverter.ToInt32(v4, StateValueCodec.HeaderSize), Is.EqualTo(4));
        Assert.That(codec.Decode<V4>(v4)!.Name, Is.EqualTo("x"));
        v4[StateValueCodec.HeaderSize] = 3;
        Assert.That(() => codec.Decode<V4>(v4, "k"), Throws.InstanceOf<StateCorruptedException>().With.Message.Contain("checksum"));
        Assert.That(codec.Decode<System.Text.Json.JsonElement>(codec.Encode(new V4 { Name = "doc" })).GetProperty("name").GetString(), Is.EqualTo("doc"), "document readers take any version");
    }

    [Test]
    public async Task JsonSteps_WithAnotherSerializer_FailWhenTheCodecIsMade()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IStateSerializer>(new OtherSerializer());
        services.AddStateKit().AddStateUpgrades<V4>(u => u.FromJson(1, d => d).FromJson(2, d => d).FromJson(3, d => d));
        await using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<StateValueCodec>());
        Assert.That(error!.Message, Does.Contain("FromJson").And.Contain("OtherSerializer"));
    }

    private static StateKitBuilder Builder() => new ServiceCollection().AddStateKit();

    public sealed class V1
    {
        public string Name { get; set; } = string.Empty;
    }

    [StateVersion(4)]
    public sealed class V4
    {
        public string Name { get; set; } = string.Empty;
    }

    private sealed class OtherSerializer : IStateSerializer
    {
        private readonly JsonStateSerializer _json = new();

        public byte FormatId => 9;

        public void Serialize<T>(System.Buffers.IBufferWriter<byte> destination, T value) => _json.Serialize(destination, value);

        public T? Deserialize<T>(ReadOnlySpan<byte> source) => _json.Deserialize<T>(source);
    }
}
