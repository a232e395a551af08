using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using NUnit.Framework;
using StateKit.Redis;
using StateKit.Tests.Pipeline;

namespace StateKit.Tests.Diagnostics;

/// <summary>The <c>StateKit</c> meter and activity source, seen as an app with OpenTelemetry would see them.</summary>
public sealed class TelemetryTests
{
    [Test]
    public async Task StoreOperations_AreTimedByStoreOperationAndOutcome()
    {
        await using var provider = Container(s => s.AddStateKit());
        using var durations = Collector<double>(provider, StateKitTelemetry.OperationDuration);
        var store = provider.GetRequiredService<IStateStore>();

        var version = await store.SetAsync("k", "v"u8.ToArray());
        await store.GetAsync("k");
        await Assert.ThrowsAsync<StateConflictException>(async () => await store.SetAsync("k", "w"u8.ToArray(), StateWriteOptions.IfVersion(version + 5)));
        await Assert.ThrowsAsync<InvalidStateKeyException>(async () => await store.GetAsync("bad\u0001key"));
        await store.SetManyAsync([new StateWrite("a", "1"u8.ToArray()), new StateWrite("b", "2"u8.ToArray())]);
        await foreach (var _ in store.ListKeysAsync())
        {
        }

        var seen = durations.GetMeasurementSnapshot()
            .Select(m => $"{m.Tags["db.system.name"]} {m.Tags["db.operation.name"]} {m.Tags[StateKitTelemetry.OutcomeTag]}")
            .ToList();
        Assert.That(seen, Is.EqualTo(new[] { "memory Set ok", "memory Get ok", "memory Set conflict", "memory Get invalid", "memory SetMany ok", "memory ListKeys ok" }));
        var conflict = durations.GetMeasurementSnapshot()[2];
        Assert.That(conflict.Tags["error.type"], Is.EqualTo(typeof(StateConflictException).FullName));
        Assert.That(durations.GetMeasurementSnapshot().Select(m => m.Value), Has.All.GreaterThanOrEqualTo(0).And.All.LessThan(60), "seconds");
        Assert.That(durations.GetMeasurementSnapshot().SelectMany(m => m.Tags.Values), Has.None.EqualTo("k"), "keys are never recorded");
    }

    [Test]
    public async Task UnreachableRedis_IsRecordedAsUnavailable()
    {
        await using var provider = Container(s => s.AddStateKit().UseRedis("127.0.0.1:1,connectTimeout=200", o => o.OperationTimeout = TimeSpan.FromSeconds(1)));
        using var durations = Collector<double>(provider, StateKitTelemetry.OperationDuration);
        var store = provider.GetRequiredService<IStateStore>();

        await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await store.SetAsync("k", "v"u8.ToArray()));

        var measurement = durations.GetMeasurementSnapshot().Single();
        Assert.That(measurement.Tags["db.system.name"], Is.EqualTo("redis"));
        Assert.That(measurement.Tags[StateKitTelemetry.OutcomeTag], Is.EqualTo("unavailable"));
        Assert.That(measurement.Tags["error.type"], Is.EqualTo(typeof(StateStoreUnavailableException).FullName));
    }

    [Test]
    public async Task StoreOperations_AreClientSpansFollowingTheDatabaseConventions()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == StateKitTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        await using var provider = Container(s => s.AddStateKit());
        var store = provider.GetRequiredService<IStateStore>();

        using (var parent = new Activity("request").Start())
        {
            await store.SetManyAsync([new StateWrite("a", "1"u8.ToArray()), new StateWrite("b", "2"u8.ToArray()), new StateWrite("c", "3"u8.ToArray())]);
            await Assert.ThrowsAsync<StateConflictException>(async () => await store.DeleteAsync("a", expectedVersion: 9));
            Assert.That(spans.Select(s => s.ParentId), Has.All.EqualTo(parent.Id), "store spans are children of the caller's span");
        }

        Assert.That(spans.Select(s => (s.DisplayName, s.Kind)), Is.EqualTo(new[] { ("SetMany memory", ActivityKind.Client), ("Delete memory", ActivityKind.Client) }));
        Assert.That(spans[0].GetTagItem("db.system.name"), Is.EqualTo("memory"));
        Assert.That(spans[0].GetTagItem("db.operation.name"), Is.EqualTo("SetMany"));
        Assert.That(spans[0].GetTagItem("db.operation.batch.size"), Is.EqualTo(3));
        Assert.That(spans[0].Status, Is.EqualTo(ActivityStatusCode.Unset));
        Assert.That(spans[1].Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(spans[1].GetTagItem("error.type"), Is.EqualTo(typeof(StateConflictException).FullName));
        Assert.That(spans[1].GetTagItem(StateKitTelemetry.OutcomeTag), Is.EqualTo("conflict"));
    }

    [Test]
    public async Task Sessions_AreCountedByName()
    {
        await using var provider = Container(s => s.AddStateKit().AddSessions<Cart>(o => o.Name = "carts"));
        using var created = Collector<long>(provider, StateKitTelemetry.SessionsCreated);
        using var active = Collector<long>(provider, StateKitTelemetry.SessionsActive);
        using var deleted = Collector<long>(provider, StateKitTelemetry.SessionsDeleted);
        var sessions = provider.GetRequiredService<ISessionManager<Cart>>();

        var first = await sessions.CreateAsync();
        await sessions.CreateAsync();
        await sessions.DeleteAsync(first.Id);
        foreach (var collector in new[] { created, active, deleted })
        {
            collector.RecordObservableInstruments();
        }

        Assert.That(created.LastMeasurement!.Value, Is.EqualTo(2));
        Assert.That(created.LastMeasurement.Tags[StateKitTelemetry.SessionNameTag], Is.EqualTo("carts"));
        Assert.That(active.LastMeasurement!.Value, Is.EqualTo(1));
        Assert.That(deleted.LastMeasurement!.Value, Is.EqualTo(1));
    }

    [Test]
    public async Task TelemetryOff_ResolvesTheStoreItself()
    {
        await using var on = Container(s => s.AddStateKit());
        Assert.That(on.GetRequiredService<IStateStore>(), Is.Not.InstanceOf<MemoryStateStore>(), "telemetry is on by default: the outermost layer measures");
        Assert.That(on.GetRequiredService<IStateStore>().Unwrapped(), Is.InstanceOf<MemoryStateStore>());
        Assert.That(on.GetRequiredService<IStateStore>().GetService<MemoryStateStore>(), Is.Not.Null, "the capability lookup sees through it");

        await using var off = Container(s => s.AddStateKit(o => o.Telemetry = false));
        Assert.That(off.GetRequiredService<IStateStore>(), Is.InstanceOf<MemoryStateStore>());
    }

    [Test]
    public async Task EveryLayer_ReportsToTheContainersOneMeter_AndTelemetryOff_RecordsNothingAnywhere()
    {
        // Issue 24, case 6: spills, retries, fallback and write-behind counters went to a second, process-wide meter,
        // which StateKit:Telemetry=false did not turn off.
        var root = Directory.CreateTempSubdirectory("statekit-meter-").FullName;
        try
        {
            static async Task WriteAsync(IStateStore store)
            {
                for (var i = 0; i < 40; i++)
                {
                    await store.SetAsync("k" + i, new byte[200]);
                }
            }

            await using (var on = Container(s => s.AddStateKit().UseMemoryBudget(1024, Path.Combine(root, "on"))))
            {
                using var spills = Collector<long>(on, StateKitTelemetry.Spills);
                using var resident = Collector<long>(on, StateKitTelemetry.ResidentBytes);
                await WriteAsync(on.GetRequiredService<IStateStore>());
                resident.RecordObservableInstruments();
                Assert.That(spills.GetMeasurementSnapshot().Sum(m => m.Value), Is.GreaterThan(0), "the spills are on the container's meter");
                Assert.That(resident.GetMeasurementSnapshot().Select(m => m.Value), Has.Some.GreaterThan(0), "and the resident bytes");
            }

            using var anywhere = new MetricCollector<long>(null, StateKitTelemetry.MeterName, StateKitTelemetry.Spills);
            await using (var off = Container(s => s.AddStateKit(o => o.Telemetry = false).UseMemoryBudget(1024, Path.Combine(root, "off"))))
            {
                var store = off.GetRequiredService<IStateStore>();
                await WriteAsync(store);
                Assert.That(store.GetRequiredService<SpillingStateStore>().Spills, Is.GreaterThan(0), "entries did spill");
            }

            Assert.That(anywhere.GetMeasurementSnapshot(), Is.Empty, "with telemetry off, no StateKit meter anywhere in the process saw the spills");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static ServiceProvider Container(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        configure(services);
        return services.BuildServiceProvider();
    }

    private static MetricCollector<T> Collector<T>(IServiceProvider provider, string instrument)
        where T : struct =>
        new(provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), StateKitTelemetry.MeterName, instrument);

    /// <summary>A session state.</summary>
    public sealed class Cart
    {
        /// <summary>Gets or sets the item count.</summary>
        public int Items { get; set; }
    }
}
