using System.Text.Json;
using Microsoft.Agents.AI;
using Microsoft.Agents.AI.Workflows;
using Microsoft.Agents.AI.Workflows.Checkpointing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StateKit;
using StateKit.Agents;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers StateKit.Agents on a <see cref="StateKitBuilder"/>.</summary>
public static class AgentsStateKitBuilderExtensions
{
    /// <summary>
    /// Registers Microsoft Agent Framework's extension points on the StateKit store: <see cref="StateKitChatHistoryProvider"/>
    /// (give it to <c>ChatClientAgentOptions.ChatHistoryProvider</c>), <see cref="AgentSessionStore"/>
    /// (<see cref="StateKitAgentSessionStore"/>), and workflow checkpoints (<see cref="StateKitCheckpointStore"/> as
    /// <see cref="JsonCheckpointStore"/> and <see cref="ICheckpointStore{TStoreObject}"/>, and a <see cref="CheckpointManager"/>
    /// on it). Options come from <c>Agents</c> under StateKit's section (<c>StateKit:Agents</c>, or under the section given
    /// to <c>AddStateKit(configuration)</c>), then from <paramref name="configure"/>; they are validated at start-up.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Changes the options.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder AddAgents(this StateKitBuilder builder, Action<StateKitAgentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = builder.BindOptions<StateKitAgentOptions>(StateKitAgentOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(sp => new StateKitChatHistoryProvider(sp.GetRequiredService<IStateStore>(), Options(sp), Envelope(sp)));
        services.TryAddSingleton(sp => new StateKitAgentSessionStore(sp.GetRequiredService<IStateStore>(), Options(sp), Envelope(sp)));
        services.TryAddSingleton<AgentSessionStore>(sp => sp.GetRequiredService<StateKitAgentSessionStore>());
        services.TryAddSingleton(sp => new StateKitCheckpointStore(sp.GetRequiredService<IStateStore>(), Options(sp), Envelope(sp)));
        services.TryAddSingleton<JsonCheckpointStore>(sp => sp.GetRequiredService<StateKitCheckpointStore>());
        services.TryAddSingleton<ICheckpointStore<JsonElement>>(sp => sp.GetRequiredService<StateKitCheckpointStore>());
        services.TryAddSingleton(sp => CheckpointManager.CreateJson(sp.GetRequiredService<StateKitCheckpointStore>()));
        services.TryAddSingleton(sp => new StateKitWorkflowRuns(sp.GetRequiredService<IStateStore>()));
        return builder;
    }

    private static StateKitAgentOptions Options(IServiceProvider services) => services.GetRequiredService<IOptions<StateKitAgentOptions>>().Value;

    private static StateKit.Serialization.StateEnvelopeOptions Envelope(IServiceProvider services) => services.GetRequiredService<IOptions<StateKitOptions>>().Value.Envelope;
}
