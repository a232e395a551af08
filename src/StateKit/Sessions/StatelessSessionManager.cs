using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>
/// <see cref="SessionIsolation.Stateless"/>: nothing is ever stored. Every read gets the default state, an update
/// returns the mutated state without keeping it, and nothing is listed, deleted or cleaned up.
/// </summary>
/// <typeparam name="TSession">The state type.</typeparam>
internal sealed class StatelessSessionManager<TSession>(IStateStore store, StateValueCodec codec, IStateProvider provider, SessionOptions options, TimeProvider time, Func<TSession>? defaultState, ILogger? logger)
    : SessionManagerBase<TSession>(store, codec, provider, options, time, defaultState, logger)
{
    public override ValueTask<Session<TSession>> CreateAsync(TSession? initialState = default, CancellationToken cancellationToken = default)
    {
        var id = NewId();
        return ValueTask.FromResult(new Session<TSession>(id, Encoded(initialState ?? DefaultState()).State, 0, Now, null, StateScope.Session(id), IsNew: true));
    }

    public override ValueTask<Session<TSession>?> GetAsync(string sessionId, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(IsValidId(sessionId)
            ? new Session<TSession>(sessionId, DefaultState(), 0, Now, null, StateScope.Session(sessionId), IsNew: false)
            : Invalid(sessionId));

    public override ValueTask<Session<TSession>> UpdateAsync(string sessionId, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        return ValueTask.FromResult(new Session<TSession>(sessionId, Encoded(mutate(DefaultState())).State, 0, Now, null, StateScope.Session(sessionId), IsNew: false));
    }

    public override ValueTask<Session<TSession>> UpdateAsync(Session<TSession> session, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        return UpdateAsync(session.Id, mutate, cancellationToken);
    }

    public override ValueTask<Session<TSession>> UpdateAtVersionAsync(string sessionId, long expectedVersion, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default) =>
        UpdateAsync(sessionId, mutate, cancellationToken); // nothing is stored, so nothing can have moved on

    public override ValueTask<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        if (!IsValidId(sessionId))
        {
            _ = Invalid(sessionId); // throws when InvalidId is Throw
        }

        return ValueTask.FromResult(false); // nothing is ever stored
    }

    public override ValueTask<Session<TSession>> RegenerateIdAsync(string sessionId, CancellationToken cancellationToken = default) =>
        GetOrCreateAsync(sessionId, cancellationToken);

    public override async IAsyncEnumerable<string> ListActiveAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield break;
    }

    public override ValueTask<int> CleanupExpiredAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

    protected override ValueTask<(string Id, StateEntry Record)?> FindOwnerAsync(StateScope scope, CancellationToken cancellationToken) =>
        ValueTask.FromResult<(string, StateEntry)?>(null);
}
