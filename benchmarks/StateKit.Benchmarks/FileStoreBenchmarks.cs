using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using StateKit.File;
using StateKit.File.Internal;

namespace StateKit.Benchmarks;

/// <summary>
/// <see cref="FileStateStore"/> set / get vs the same bytes written by hand the durable way: temp file, write,
/// fsync, rename over the old file, fsync the directory; and read back with <see cref="System.IO.File.ReadAllBytes(string)"/>.
/// A list append vs an append-only log by hand: write the item at the end of an open file, fsync.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class FileStoreBenchmarks
{
    private string _root = string.Empty;
    private string _rawPath = string.Empty;
    private string _rawTemp = string.Empty;
    private FileStateStore _store = null!;
    private FileStream _rawLog = null!;
    private byte[] _value = [];

    /// <summary>Gets or sets the value size in bytes.</summary>
    [Params(100, 1024, 64 * 1024)]
    public int ValueSize { get; set; } = 1024;

    // Synchronous on purpose: BenchmarkDotNet's in-process toolchain does not await an async [GlobalSetup].
    [GlobalSetup]
    public void SetUp() => SetUpAsync().GetAwaiter().GetResult();

    private async Task SetUpAsync()
    {
        _root = Path.Combine(Path.GetTempPath(), "statekit-bench-files-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(_root, "raw"));
        _rawPath = Path.Combine(_root, "raw", "hot.bin");
        _rawTemp = _rawPath + ".tmp";
        _value = Enumerable.Range(0, ValueSize).Select(i => (byte)i).ToArray();
        _store = new FileStateStore(new FileStateStoreOptions { RootPath = Path.Combine(_root, "store") });
        await _store.SetAsync("hot", _value);
        Raw_Set();
        _rawLog = new FileStream(Path.Combine(_root, "raw", "log.bin"), FileMode.Append, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
    }

    [GlobalCleanup]
    public void CleanUp() => CleanUpAsync().GetAwaiter().GetResult();

    private async Task CleanUpAsync()
    {
        await _rawLog.DisposeAsync();
        await _store.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [BenchmarkCategory("Set"), Benchmark(Baseline = true)]
    public void Raw_Set()
    {
        using (var stream = new FileStream(_rawTemp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            stream.Write(_value);
            stream.Flush(flushToDisk: true);
        }

        System.IO.File.Move(_rawTemp, _rawPath, overwrite: true);
        NativeMethods.FsyncDirectory(Path.GetDirectoryName(_rawPath)!);
    }

    [BenchmarkCategory("Set"), Benchmark]
    public async Task<long> StateKit_Set() => await _store.SetAsync("hot", _value);

    [BenchmarkCategory("Get"), Benchmark(Baseline = true)]
    public byte[] Raw_Get() => System.IO.File.ReadAllBytes(_rawPath);

    [BenchmarkCategory("Get"), Benchmark]
    public async Task<StateEntry?> StateKit_Get() => await _store.GetAsync("hot");

    [BenchmarkCategory("ListAppend"), Benchmark(Baseline = true)]
    public void Raw_ListAppend()
    {
        _rawLog.Write(_value);
        NativeMethods.Fsync(_rawLog);
    }

    /// <summary>One item; the store writes the record, fsyncs, moves the committed length over it and fsyncs again.</summary>
    [BenchmarkCategory("ListAppend"), Benchmark]
    public async Task<long> StateKit_ListAppend() => await _store.ListAppendAsync("log", [_value]);
}
