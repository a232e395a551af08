using Microsoft.Extensions.Diagnostics.HealthChecks;
using NUnit.Framework;
using StateKit.Postgres;
using StateKit.Redis;
using StateKit.Sqlite;
using StateKit.Tests.Provider;

namespace StateKit.Tests.Issues;

/// <summary>
/// Wrapping a working store in decorators never makes its health checks report it unhealthy (the 503 seen when the
/// Redis check type-tested the registered store): on every store, the probe check and the backend's own ping check
/// answer Healthy through two decorators.
/// </summary>
[TestFixtureSource(typeof(TestStores), nameof(TestStores.Kinds))]
public sealed class HealthThroughDecoratorTests(string kind) : StoreFixture(kind)
{
    private readonly string _kind = kind;

    [Test]
    public async Task HealthChecks_ThroughTwoDecorators_AreHealthy()
    {
        IStateStore wrapped = new NonDisposingStore(new NonDisposingStore(Store));
        var probe = await new StateStoreHealthCheck(wrapped).CheckHealthAsync(new HealthCheckContext());
        Assert.That(probe.Status, Is.EqualTo(HealthStatus.Healthy), probe.Description);

        IHealthCheck? ping = _kind switch
        {
            "sqlite" => new SqliteStateStoreHealthCheck(wrapped),
            "postgres" => new PostgresStateStoreHealthCheck(wrapped),
            "redis" or "redis-cluster" => new RedisStateStoreHealthCheck(wrapped),
            _ => null,
        };
        if (ping is not null)
        {
            var result = await ping.CheckHealthAsync(new HealthCheckContext());
            Assert.That(result.Status, Is.EqualTo(HealthStatus.Healthy), result.Description);
        }
        else
        {
            Assert.That(_kind, Is.AnyOf("memory", "file"), "every server-backed store has its own ping check");
        }
    }
}
