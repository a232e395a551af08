using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.File;

namespace StateKit.Tests.AspNetCore;

/// <summary>
/// Issue 26: encryption at rest with ASP.NET Core Data Protection's keys (<c>UseDataProtectionEncryption</c>). Two
/// instances sharing a key directory read each other's values; a new Data Protection key becomes StateKit's current key,
/// older values stay readable and a rewrap moves them; an instance with other keys gets a typed error naming the key id.
/// </summary>
public sealed class DataProtectionEncryptionTests
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("PLAINTEXT-MARKER conversation");
    private string _root = string.Empty;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("statekit-dp-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [Test]
    public async Task Instances_SharingDataProtectionKeys_ShareStateKitsKeys_AndRotateWithThem()
    {
        var keys = Path.Combine(_root, "dp-keys");
        var files = Path.Combine(_root, "state");
        await using var first = Instance(keys, files);
        await using var second = Instance(keys, files);
        var a = first.GetRequiredService<IStateStore>();
        var b = second.GetRequiredService<IStateStore>();
        Assert.That(a.DescribePipeline(), Is.EqualTo("telemetry > encryption > file"));

        await a.SetAsync("chat", Secret);
        Assert.That((await b.GetAsync("chat"))!.Value.ToArray(), Is.EqualTo(Secret), "the other instance derives the same key");
        var firstKey = a.GetRequiredService<IStateEncryptionStatus>().CurrentKeyId;
        Assert.That(firstKey, Does.StartWith("dp-"));
        Assert.That(Guid.TryParse(firstKey[3..], out var dpKeyId), Is.True);
        Assert.That(first.GetRequiredService<IKeyManager>().GetAllKeys().Select(k => k.KeyId), Does.Contain(dpKeyId), "the key id is Data Protection's");
        Assert.That(Directory.EnumerateFiles(files, "*", SearchOption.AllDirectories).Any(f => Contains(System.IO.File.ReadAllBytes(f), Secret.AsSpan(0, 16))), Is.False, "the file store holds ciphertext");

        // Data Protection rotates (a new key, active now): a fresh instance writes with it; older values still read.
        var next = first.GetRequiredService<IKeyManager>().CreateNewKey(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(90));
        await using var third = Instance(keys, files);
        var c = third.GetRequiredService<IStateStore>();
        Assert.That(c.GetRequiredService<IStateEncryptionStatus>().CurrentKeyId, Is.EqualTo("dp-" + next.KeyId.ToString("D")));
        Assert.That((await c.GetAsync("chat"))!.Value.ToArray(), Is.EqualTo(Secret), "the retired key still reads");
        await c.SetAsync("later", Secret);
        Assert.That((await a.GetAsync("later"))!.Value.ToArray(), Is.EqualTo(Secret), "an instance started before the rotation finds the new key when a value names it");

        var rewrap = await c.GetRequiredService<IStateEncryptionStatus>().RewrapAsync();
        Assert.That(rewrap, Is.EqualTo(new StateRewrapProgress(2, 1)));
        var raw = (await third.GetRequiredService<IStateStore>().GetRequiredService<FileStateStore>().GetAsync("chat"))!.Value.ToArray();
        Assert.That(Encoding.ASCII.GetString(raw, 3, raw[2]), Is.EqualTo("dp-" + next.KeyId.ToString("D")));
    }

    [Test]
    public async Task AnInstanceWithOtherKeys_GetsATypedErrorNamingTheKeyId()
    {
        var files = Path.Combine(_root, "state");
        await using (var writer = Instance(Path.Combine(_root, "keys-a"), files))
        {
            await writer.GetRequiredService<IStateStore>().SetAsync("chat", Secret);
        }

        await using var other = Instance(Path.Combine(_root, "keys-b"), files);
        var error = await Assert.ThrowsAsync<StateEncryptionKeyNotFoundException>(async () => await other.GetRequiredService<IStateStore>().GetAsync("chat"));
        Assert.That(error!.KeyId, Does.StartWith("dp-"));
        Assert.That(error.Message, Does.Contain(error.KeyId));
    }

    private ServiceProvider Instance(string keyDirectory, string stateDirectory)
    {
        var services = new ServiceCollection();
        services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(keyDirectory)).SetApplicationName("statekit-tests");
        services.AddStateKit().UseFileSystem(stateDirectory).UseDataProtectionEncryption();
        return services.BuildServiceProvider();
    }

    private static bool Contains(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
