using Microsoft.Agents.AI.Workflows;
using StateKit.Agents.Internal;

namespace StateKit.Agents;

/// <summary>
/// Run-or-resume for workflows whose checkpoints are in StateKit: a run id that never ran starts; one that stopped part
/// way (a crash, a restart) resumes from its latest checkpoint; one that has finished is not run again. Agent Framework
/// cannot tell a finished run from one to resume by its checkpoints (resuming a finished run waits for ever), so a run
/// that ends without pending requests is marked completed in the store, next to its checkpoints.
/// </summary>
public sealed class StateKitWorkflowRuns
{
    private readonly IStateStore _store;

    /// <summary>Initializes a new instance of the <see cref="StateKitWorkflowRuns"/> class.</summary>
    /// <param name="store">The store the completion markers are kept in (the checkpoints' store).</param>
    public StateKitWorkflowRuns(IStateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <summary>Starts the run <paramref name="runId"/>, resumes it from its latest checkpoint, or does nothing when it has finished.</summary>
    /// <typeparam name="TInput">The workflow's input type.</typeparam>
    /// <param name="workflow">The workflow.</param>
    /// <param name="input">The input of a new run (unused when the run resumes).</param>
    /// <param name="checkpoints">The checkpoint manager (<c>AddAgents()</c> registers one on StateKit).</param>
    /// <param name="runId">The run's id (its checkpoint session).</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The run (dispose it), or <see langword="null"/> when the run had already finished.</returns>
    public async ValueTask<Run?> RunOrResumeAsync<TInput>(Workflow workflow, TInput input, CheckpointManager checkpoints, string runId, CancellationToken cancellationToken = default)
        where TInput : notnull
    {
        ArgumentNullException.ThrowIfNull(workflow);
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentException.ThrowIfNullOrEmpty(runId);
        if (await IsCompletedAsync(runId, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var latest = await checkpoints.GetLatestCheckpointAsync(runId, cancellationToken).ConfigureAwait(false);
        var run = latest is null
            ? await InProcessExecution.RunAsync(workflow, input, checkpoints, runId, cancellationToken).ConfigureAwait(false)
            : await InProcessExecution.ResumeAsync(workflow, latest, checkpoints, cancellationToken).ConfigureAwait(false);
        if (await run.GetStatusAsync(cancellationToken).ConfigureAwait(false) is RunStatus.Idle or RunStatus.Ended)
        {
            await MarkCompletedAsync(runId, cancellationToken).ConfigureAwait(false);
        }

        return run;
    }

    /// <summary>Tells whether the run has finished (marked by <see cref="RunOrResumeAsync"/> or <see cref="MarkCompletedAsync"/>).</summary>
    /// <param name="runId">The run's id.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>Whether it has finished.</returns>
    public ValueTask<bool> IsCompletedAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        return _store.ExistsAsync(AgentKeys.WorkflowCompleted(runId), cancellationToken);
    }

    /// <summary>Marks a run finished (for runs driven by hand, for example streamed ones); idempotent.</summary>
    /// <param name="runId">The run's id.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>A task.</returns>
    public async ValueTask MarkCompletedAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        await _store.SetAsync(AgentKeys.WorkflowCompleted(runId), "completed"u8.ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Forgets that a run finished, so the same run id can run again (its old checkpoints stay).</summary>
    /// <param name="runId">The run's id.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>Whether it was marked finished.</returns>
    public ValueTask<bool> ClearCompletedAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        return _store.DeleteAsync(AgentKeys.WorkflowCompleted(runId), cancellationToken: cancellationToken);
    }
}
