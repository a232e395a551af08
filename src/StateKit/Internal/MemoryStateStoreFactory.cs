using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StateKit.Internal;

/// <summary>Creates the in-memory store for <c>StateKit:Store:Type = memory</c> and checks its budget settings (<c>StateKit:MemoryBudget</c>).</summary>
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

    /// <summary>The bare memory store; its budget is a layer of the pipeline (<see cref="StateStoreStage.MemoryBudget"/>).</summary>
    public IStateStore Create(IServiceProvider services, StateKitOptions options) => new MemoryStateStore(options, services.GetService<TimeProvider>());
}
