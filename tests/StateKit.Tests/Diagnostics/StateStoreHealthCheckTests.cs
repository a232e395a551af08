using Microsoft.Extensions.Diagnostics.HealthChecks;
using NUnit.Framework;
using StateKit.File;

namespace StateKit.Tests.Diagnostics;

public sealed class StateStoreHealthCheckTests
{
    [Test]
    public async Task CheckHealthAsync_WorkingStore_IsHealthyAndLeavesNoProbe()
    {
        await using var store = new MemoryStateStore();
        var result = await new StateStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
        Assert.That(result.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(result.Data["store"], Is.EqualTo("memory"));
        await foreach (var key in store.ListKeysAsync())
        {
            Assert.Fail($"the probe left '{key}' behind");
        }
    }

    [Test]
    public async Task CheckHealthAsync_FileStoreWhoseDirectoryVanished_IsUnhealthyNamingTheStore()
    {
        var root = Directory.CreateTempSubdirectory("statekit-health-").FullName;
        await using var store = new FileStateStore(new FileStateStoreOptions { RootPath = root });
        Directory.Delete(root, recursive: true);
        var result = await new StateStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
        Assert.That(result.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(result.Description, Does.Contain("'file' store"));
        Assert.That(result.Exception, Is.InstanceOf<StateStoreUnavailableException>());
    }
}
