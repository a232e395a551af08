using NUnit.Framework;
using StateKit.File;
using StateKit.Testing;

namespace StateKit.Tests.File;

/// <summary>The conformance suite against <see cref="FileStateStore"/>; all stores of a fixture share one root directory.</summary>
public sealed class FileStateStoreConformanceTests : StateStoreConformanceTests<FileStateStore>
{
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

    protected override async ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key)
    {
        var path = Path.Combine(_root, "ns-" + StateKit.File.Internal.FileNames.ForKey(keyPrefix), "entries", StateKit.File.Internal.FileNames.ForKey(key));
        var bytes = await System.IO.File.ReadAllBytesAsync(path);
        bytes[bytes.Length - 8] ^= 0x5A;
        await System.IO.File.WriteAllBytesAsync(path, bytes);
        return true;
    }
}
