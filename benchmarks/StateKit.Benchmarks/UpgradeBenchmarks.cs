using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using StateKit.Serialization;

namespace StateKit.Benchmarks;

/// <summary>
/// Versioned state types (issue 26): decoding a ~1 KB value stored at the current version (baseline) vs one stored two
/// versions back, read through a typed step and a JSON document step.
/// </summary>
[MemoryDiagnoser]
public class UpgradeBenchmarks
{
    private StateValueCodec _codec = null!;
    private ServiceProvider _services = null!;
    private byte[] _current = null!;
    private byte[] _old = null!;

    [GlobalSetup]
    public void SetUp()
    {
        var services = new ServiceCollection();
        services.AddStateKit().AddStateUpgrades<ProfileV3>(u => u
            .From<ProfileV1, ProfileV2>(1, p => new ProfileV2 { Name = p.Name, Notes = p.Notes, Email = string.Empty })
            .FromJson(2, doc =>
            {
                doc["contact"] = doc["email"]?.DeepClone();
                doc.AsObject().Remove("email");
                return doc;
            }));
        _services = services.BuildServiceProvider();
        _codec = _services.GetRequiredService<StateValueCodec>();
        var notes = Enumerable.Range(0, 30).Select(i => "note number " + i).ToList();
        _current = _codec.Encode(new ProfileV3 { Name = "Ada", Notes = notes, Contact = "ada@example.com" });
        _old = _codec.Encode(new ProfileV1 { Name = "Ada", Notes = notes });
    }

    [GlobalCleanup]
    public void CleanUp() => _services.Dispose();

    [Benchmark(Baseline = true)]
    public ProfileV3? Decode_CurrentVersion() => _codec.Decode<ProfileV3>(_current);

    [Benchmark]
    public ProfileV3? Decode_TwoVersionsBack() => _codec.Decode<ProfileV3>(_old);

    public sealed class ProfileV1
    {
        public string Name { get; set; } = string.Empty;

        public List<string> Notes { get; set; } = [];
    }

    [StateVersion(2)]
    public sealed class ProfileV2
    {
        public string Name { get; set; } = string.Empty;

        public List<string> Notes { get; set; } = [];

        public string Email { get; set; } = string.Empty;
    }

    [StateVersion(3)]
    public sealed class ProfileV3
    {
        public string Name { get; set; } = string.Empty;

        public List<string> Notes { get; set; } = [];

        public string? Contact { get; set; }
    }
}
