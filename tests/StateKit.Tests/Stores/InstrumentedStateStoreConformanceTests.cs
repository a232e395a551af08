using System.Diagnostics;
using System.Diagnostics.Metrics;
using NUnit.Framework;
using StateKit.Internal;
using StateKit.Testing;

namespace StateKit.Tests.Stores;

/// <summary>
/// The conformance suite through the telemetry layer over <see cref="MemoryStateStore"/>, with a meter listener and an
/// activity listener on, so every operation takes the measuring path (without listeners the layer only forwards).
/// </summary>
internal sealed class InstrumentedStateStoreConformanceTests : StateStoreConformanceTests<InstrumentedStateStore>
{
    private readonly Dictionary<string, MemoryStateStore> _stores = new(StringComparer.Ordinal);
    private StateKitMetrics _metrics = null!;
    private MeterListener _meterListener = null!;
    private ActivityListener _activityListener = null!;
    private long _measurements;
    private long _spans;

    [OneTimeSetUp]
    public void StartListening()
    {
        _metrics = new StateKitMetrics(null);
        _meterListener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == StateKitTelemetry.OperationDuration && instrument.Meter.Name == StateKitTelemetry.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meterListener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meterListener.Start();
        _activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == StateKitTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _ => Interlocked.Increment(ref _spans),
        };
        ActivitySource.AddActivityListener(_activityListener);
    }

    [OneTimeTearDown]
    public void StopListening()
    {
        _meterListener.Dispose();
        _activityListener.Dispose();
        _metrics.Dispose();
        Assert.That(Interlocked.Read(ref _measurements), Is.GreaterThan(0), "the suite's operations were measured");
        Assert.That(Interlocked.Read(ref _spans), Is.GreaterThan(0), "the suite's operations were traced");
    }

    protected override ValueTask<InstrumentedStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var store = new MemoryStateStore(options, timeProvider);
        _stores[options.KeyPrefix] = store;
        return new(new InstrumentedStateStore(store, _metrics));
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) =>
        new(_stores.TryGetValue(keyPrefix, out var store) && store.DamageValueForTest(key));
}
