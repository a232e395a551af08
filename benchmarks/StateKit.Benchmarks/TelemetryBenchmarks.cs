using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using StateKit.Internal;

namespace StateKit.Benchmarks;

/// <summary>
/// What the telemetry layer (on by default, outermost in the pipeline) costs on the fastest store: the memory store
/// called directly (the baseline) vs through the layer with nothing listening, and with a meter listener and an activity
/// listener that record everything (as an OpenTelemetry SDK would, minus its export work). Get and set of 1 KB values.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class TelemetryBenchmarks
{
    private const int Keys = 1024;
    private readonly string[] _keys = Enumerable.Range(0, Keys).Select(i => $"chat/{i}").ToArray();
    private readonly byte[] _value = Enumerable.Range(0, 1024).Select(i => (byte)i).ToArray();
    private MemoryStateStore _bare = null!;
    private IStateStore _instrumented = null!;
    private StateKitMetrics _metrics = null!;
    private MeterListener? _meterListener;
    private ActivityListener? _activityListener;
    private int _next;

    /// <summary>Gets or sets whether listeners are attached for the instrumented runs.</summary>
    [Params(false, true)]
    public bool Listening { get; set; }

    [GlobalSetup]
    public void SetUp()
    {
        _bare = new MemoryStateStore();
        _metrics = new StateKitMetrics(null);
        _instrumented = new InstrumentedStateStore(new MemoryStateStore(), _metrics);
        foreach (var key in _keys)
        {
            _bare.SetAsync(key, _value).AsTask().GetAwaiter().GetResult();
            _instrumented.SetAsync(key, _value).AsTask().GetAwaiter().GetResult();
        }

        if (Listening)
        {
            _meterListener = new MeterListener { InstrumentPublished = (i, l) => { if (i.Meter.Name == StateKitTelemetry.MeterName) { l.EnableMeasurementEvents(i); } } };
            _meterListener.SetMeasurementEventCallback<double>((_, _, _, _) => { });
            _meterListener.Start();
            _activityListener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == StateKitTelemetry.ActivitySourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            };
            ActivitySource.AddActivityListener(_activityListener);
        }
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _meterListener?.Dispose();
        _activityListener?.Dispose();
        _metrics.Dispose();
    }

    [BenchmarkCategory("Get"), Benchmark(Baseline = true)]
    public ValueTask<StateEntry?> Bare_Get() => _bare.GetAsync(_keys[_next++ & (Keys - 1)]);

    [BenchmarkCategory("Get"), Benchmark]
    public ValueTask<StateEntry?> Instrumented_Get() => _instrumented.GetAsync(_keys[_next++ & (Keys - 1)]);

    [BenchmarkCategory("Set"), Benchmark(Baseline = true)]
    public ValueTask<long> Bare_Set() => _bare.SetAsync(_keys[_next++ & (Keys - 1)], _value);

    [BenchmarkCategory("Set"), Benchmark]
    public ValueTask<long> Instrumented_Set() => _instrumented.SetAsync(_keys[_next++ & (Keys - 1)], _value);
}
