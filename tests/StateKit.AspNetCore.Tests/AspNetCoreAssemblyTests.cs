using NUnit.Framework;

namespace StateKit.Tests.AspNetCore;

/// <summary>StateKit.AspNetCore is left out of StateKit.Tests' conformance completeness check; this keeps that honest.</summary>
public sealed class AspNetCoreAssemblyTests
{
    [Test]
    public void StateKitAspNetCore_DefinesNoStore_SoItNeedsNoConformanceFixture()
    {
        var stores = typeof(StateKit.AspNetCore.SessionContext<>).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(IStateStore).IsAssignableFrom(t))
            .Select(t => t.FullName)
            .ToList();
        Assert.That(stores, Is.Empty, "a store here needs a conformance fixture in StateKit.AspNetCore.Tests");
    }
}
