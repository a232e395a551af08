using System.Reflection;
using NUnit.Framework;
using StateKit.Testing;

namespace StateKit.Tests.Testing;

/// <summary>Fails when a store or decorator in src/ has no fixture that runs the conformance suite against it.</summary>
public sealed class ConformanceCompletenessTests
{
    [Test]
    public void EveryStateStoreInSource_HasAConformanceFixture()
    {
        var stores = SourceAssemblies()
            .SelectMany(a => a.GetTypes())
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IStateStore).IsAssignableFrom(t) && !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute)))
            .ToList();
        var covered = typeof(ConformanceCompletenessTests).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false })
            .Select(ConformanceTarget)
            .OfType<Type>()
            .ToHashSet();

        Assert.That(stores, Does.Contain(typeof(MemoryStateStore)), "the scan must find the built-in stores");
        Assert.That(stores.Where(s => !covered.Contains(s)).Select(s => s.FullName), Is.Empty, "stores without a StateStoreConformanceTests<T> fixture");
    }

    private static Type? ConformanceTarget(Type type)
    {
        for (var t = type.BaseType; t is not null; t = t.BaseType)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(StateStoreConformanceTests<>))
            {
                return t.GetGenericArguments()[0];
            }
        }

        return null;
    }

    /// <summary>Loads the assembly of every project under src/ except the suite itself; a project the tests do not reference fails here.</summary>
    private static IEnumerable<Assembly> SourceAssemblies()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !System.IO.File.Exists(Path.Combine(directory.FullName, "StateKit.sln")))
        {
            directory = directory.Parent;
        }

        Assert.That(directory, Is.Not.Null, "the repository root (StateKit.sln) was not found above the test output");
        var projects = Directory.GetFiles(Path.Combine(directory!.FullName, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(Path.GetFileNameWithoutExtension)
            .Where(name => name != "StateKit.Testing")
            // Needs the ASP.NET Core shared framework, which this test assembly does not load; StateKit.AspNetCore.Tests
            // checks that it defines no store (AspNetCoreAssemblyTests).
            .Where(name => name != "StateKit.AspNetCore")
            .ToList();
        Assert.That(projects, Does.Contain("StateKit").And.Contain("StateKit.File"));
        foreach (var project in projects)
        {
            Assembly assembly;
            try
            {
                assembly = Assembly.Load(new AssemblyName(project!));
            }
            catch (FileNotFoundException)
            {
                Assert.Fail($"src project {project} is not referenced by tests/StateKit.Tests, so its stores are not tested");
                throw;
            }

            yield return assembly;
        }
    }
}
