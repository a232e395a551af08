using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StateKit.Internal;

/// <summary>Creates the in-memory store for <c>StateKit:Store:Type = memory</c>, with its budget when <c>StateKit:MemoryBudget</c> sets one.</summary>
internal sealed class MemoryStateStoreFactory : IStateStoreFactory
{
    public const string Type = "memory";

    public string StoreType => Type;

    public IEnumerable<string> Validate(IServiceProvider services, StateKitOptions options)
    {
        var budget = options.MemoryBudget;
        if (budget.MaxResidentBytes is > 0 and < 1024)
        {
            yield return $"{options.SectionPath}:MemoryBudget:MaxResidentBytes must be 0 (no budget) or at least 1024 (was {budget.MaxResidentBytes}).";
        }

        if (budget.MaxResidentBytes > 0 && string.IsNullOrWhiteSpace(budget.SpillDirectory))
        {
            yield return $"{options.SectionPath}:MemoryBudget:SpillDirectory is required with a memory budget: UseMemoryBudget(maxResidentBytes, spillDirectory).";
        }
    }

    public IStateStore Create(IServiceProvider services, StateKitOptions options)
    {
        var time = services.GetService<TimeProvider>();
        var memory = new MemoryStateStore(options, time);
        return options.MemoryBudget.MaxResidentBytes > 0
            ? new SpillingStateStore(memory, options.MemoryBudget, time, services.GetService<ILogger<SpillingStateStore>>())
            : memory;
    }
}
