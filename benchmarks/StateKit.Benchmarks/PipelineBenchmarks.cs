using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Benchmarks;

/// <summary>
/// What the store pipeline costs on the fastest store, where it shows most: the memory store called directly (the
/// baseline) vs through one and three pass-through <see cref="DelegatingStateStore"/> decorators (get and conditional
/// set of 1 KB values, mean per operation), and the capability lookup through three decorators vs a type test.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PipelineBenchmarks
{
    private const int Keys = 1024;
    private readonly string[] _keys = Enumerable.Range(0, Keys).Select(i => $"chat/{i}").ToArray();
    private readonly long[] _bareVersions = new long[Keys];
    private readonly long[] _wrappedVersions = new long[Keys];
    private readonly byte[] _value = Enumerable.Range(0, 1024).Select(i => (byte)i).ToArray();
    private MemoryStateStore _bare = null!;
    private IStateStore _one = null!;
    private IStateStore _three = null!;
    private MemoryStateStore _wrappedInner = null!;

    [GlobalSetup]
    public void SetUp()
    {
        _bare = new MemoryStateStore();
        _one = new PassThrough(_bare);
        _wrappedInner = new MemoryStateStore();
        _three = new PassThrough(new PassThrough(new PassThrough(_wrappedInner)));
        for (var i = 0; i < Keys; i++)
        {
            _bareVersions[i] = _bare.SetAsync(_keys[i], _value).AsTask().GetAwaiter().GetResult();
            _wrappedVersions[i] = _three.SetAsync(_keys[i], _value).AsTask().GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _one.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _three.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [BenchmarkCategory("Get"), Benchmark(Baseline = true, OperationsPerInvoke = Keys)]
    public void Bare_Get()
    {
        for (var i = 0; i < Keys; i++)
        {
            _bare.GetAsync(_keys[i]).GetAwaiter().GetResult();
        }
    }

    [BenchmarkCategory("Get"), Benchmark(OperationsPerInvoke = Keys)]
    public void OneDecorator_Get()
    {
        for (var i = 0; i < Keys; i++)
        {
            _one.GetAsync(_keys[i]).GetAwaiter().GetResult();
        }
    }

    [BenchmarkCategory("Get"), Benchmark(OperationsPerInvoke = Keys)]
    public void ThreeDecorators_Get()
    {
        for (var i = 0; i < Keys; i++)
        {
            _three.GetAsync(_keys[i]).GetAwaiter().GetResult();
        }
    }

    [BenchmarkCategory("ConditionalSet"), Benchmark(Baseline = true, OperationsPerInvoke = Keys)]
    public void Bare_ConditionalSet()
    {
        for (var i = 0; i < Keys; i++)
        {
            _bareVersions[i] = _bare.SetAsync(_keys[i], _value, StateWriteOptions.IfVersion(_bareVersions[i])).GetAwaiter().GetResult();
        }
    }

    [BenchmarkCategory("ConditionalSet"), Benchmark(OperationsPerInvoke = Keys)]
    public void ThreeDecorators_ConditionalSet()
    {
        for (var i = 0; i < Keys; i++)
        {
            _wrappedVersions[i] = _three.SetAsync(_keys[i], _value, StateWriteOptions.IfVersion(_wrappedVersions[i])).GetAwaiter().GetResult();
        }
    }

    [BenchmarkCategory("Lookup"), Benchmark(Baseline = true)]
    public StateStoreCapabilities TypeTest_Capabilities() => _wrappedInner is IStateStoreCapabilities c ? c.Capabilities : StateStoreCapabilities.None;

    [BenchmarkCategory("Lookup"), Benchmark]
    public StateStoreCapabilities ThreeDecorators_GetCapabilities() => _three.GetCapabilities();

    private sealed class PassThrough(IStateStore inner) : DelegatingStateStore(inner);
}

/// <summary>
/// Session create, which writes the scope's owner entry in the same batch as the record, beside the one conditional
/// write (record with its time to live) a create would be without it; memory store, 1 KB state. Each iteration starts
/// from empty stores and creates 10,000 sessions, so memory does not grow across iterations.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(10_000)]
public class SessionCreateBenchmarks
{
    private ServiceProvider _services = null!;
    private ISessionManager<ChatState> _sessions = null!;
    private MemoryStateStore _store = null!;
    private ChatState _state = ChatState.OfSize(1024);

    [IterationSetup]
    public void SetUp()
    {
        CleanUp();
        var services = new ServiceCollection();
        services.AddStateKit().AddSessions<ChatState>();
        _services = services.BuildServiceProvider();
        _sessions = _services.GetRequiredService<ISessionManager<ChatState>>();
        _store = new MemoryStateStore();
        _state = ChatState.OfSize(1024);
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _services?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _store?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>A hand-written create: a random id, the state serialized, one conditional write with the idle timeout.</summary>
    [Benchmark(Baseline = true)]
    public long OneConditionalWrite() =>
        _store.SetAsync("sessions/bench/" + Guid.NewGuid().ToString("N"), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(_state), new StateWriteOptions(0, TimeSpan.FromMinutes(20))).GetAwaiter().GetResult();

    [Benchmark]
    public long StateKit_Create() => _sessions.CreateAsync(_state).AsTask().GetAwaiter().GetResult().Version;
}
