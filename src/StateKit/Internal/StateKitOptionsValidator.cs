using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace StateKit.Internal;

/// <summary>Checks the rules DataAnnotations cannot express; every failure names its option path.</summary>
internal sealed class StateKitOptionsValidator(IServiceProvider services) : IValidateOptions<StateKitOptions>
{
    public ValidateOptionsResult Validate(string? name, StateKitOptions options)
    {
        var failures = new List<string>();
        options.AddSharedProblems(failures, options.SectionPath);

        if (options.PurgeInterval < TimeSpan.Zero)
        {
            failures.Add($"{options.SectionPath}:PurgeInterval must be zero (off) or positive (was {options.PurgeInterval}).");
        }

        if (options.Envelope.CompressionThresholdBytes < 0)
        {
            failures.Add("StateKit:Envelope:CompressionThresholdBytes must be zero or positive.");
        }

        if (options.Envelope.MaxDecodedBytes < 1)
        {
            failures.Add("StateKit:Envelope:MaxDecodedBytes must be positive.");
        }

        if (!Enum.IsDefined(options.Envelope.Compression))
        {
            failures.Add($"StateKit:Envelope:Compression '{options.Envelope.Compression}' is unknown; use None, Brotli or GZip.");
        }

        if (options.StoreName.Length == 0)
        {
            AddRoutingProblems(failures, options);
        }

        if (options.MemoryBudget.MaxResidentBytes > 0 && !string.Equals(options.Store.Type, MemoryStateStoreFactory.Type, StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"{options.SectionPath}:MemoryBudget applies to the memory store only, and this store's type is '{options.Store.Type}': remove the budget (UseMemoryBudget, {options.SectionPath}:MemoryBudget:MaxResidentBytes) or use the memory store.");
        }

        var pipeline = services.GetService<IOptionsMonitor<StateStorePipelineOptions>>()?.Get(options.StoreName);
        ConfiguredLayers.Find(services, options, pipeline?.Layers ?? [], failures);

        var factory = StateStoreSelector.Find(services, options, out var problem);
        if (factory is null)
        {
            failures.Add(problem!);
        }
        else
        {
            failures.AddRange(factory.Validate(services, options));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private void AddRoutingProblems(List<string> failures, StateKitOptions options)
    {
        var names = services.GetService<StateKitMarker>()?.StoreNames ?? [];
        foreach (var storeName in options.Fallback.Stores.Where(n => !names.Contains(n, StringComparer.Ordinal)))
        {
            failures.Add($"StateKit:Fallback:Stores names the store '{storeName}', which is not added: add it with AddStore(\"{storeName}\", …) or under StateKit:Stores:{storeName}.");
        }

        if (options.Fallback.MaxProbeInterval < options.Fallback.ProbeInterval)
        {
            failures.Add("StateKit:Fallback:MaxProbeInterval must not be shorter than ProbeInterval.");
        }

        foreach (var (tier, storeName) in options.Tiers)
        {
            if (!Enum.IsDefined(tier))
            {
                failures.Add($"StateKit:Tiers names an unknown tier '{tier}'; use Local, Shared, Session, Persistent or Global.");
            }
            else if (!names.Contains(storeName, StringComparer.Ordinal))
            {
                var known = names.Count == 0 ? "none is" : "the stores are " + string.Join(", ", names.Select(n => $"'{n}'"));
                failures.Add($"StateKit:Tiers:{tier} names the store '{storeName}', which is not added: add it with AddStore(\"{storeName}\", …) or under StateKit:Stores:{storeName} ({known}).");
            }
        }
    }
}
