using NUnit.Framework;
using StateKit.File;
using StateKit.Testing;
using StateKit.Tests.Testing;

namespace StateKit.Tests.File;

/// <summary>The conformance suite, bare, through a pass-through decorator and behind the L1 tier, against <see cref="FileStateStore"/>; all stores of a fixture share one root directory.</summary>
[TestFixture(StorePipeline.Bare)]
[TestFixture(StorePipeline.PassThrough)]
[TestFixture(StorePipeline.L1)]
public sealed class FileStateStoreConformanceTests(StorePipeline pipeline) : StateStoreConformanceTests<FileStateStore>
{
    protected override IStateStore Decorate(FileStateStore store) => pipeline.Wrap(store, Time);

    private string _root = string.Empty;

    [OneTimeSetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("statekit-file-conformance-").FullName;

    [OneTimeTearDown]
    public void DeleteRoot() => Directory.Delete(_root, recursive: true);

    protected override ValueTask<FileStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var fileOptions = new FileStateStoreOptions { RootPath = _root };
        options.CopyTo(fileOptions);
        return new(new FileStateStore(fileOptions, timeProvider));
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) => DamageAsync(_root, keyPrefix, key);

    /// <summary>Flips a byte of a stored entry's value in a file store under <paramref name="root"/> (also used by the combination fixtures).</summary>
    internal static async ValueTask<bool> DamageAsync(string root, string keyPrefix, string key)
    {
        var path = Path.Combine(root, "ns-" + StateKit.File.Internal.FileNames.ForKey(keyPrefix), "entries", StateKit.File.Internal.FileNames.ForKey(key));
        var bytes = await System.IO.File.ReadAllBytesAsync(path);
        bytes[bytes.Length - 8] ^= 0x5A;
        await System.IO.File.WriteAllBytesAsync(path, bytes);
        return true;
    }
}
