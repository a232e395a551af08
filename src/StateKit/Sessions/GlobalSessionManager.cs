using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>
/// <see cref="SessionIsolation.Global"/>: one session, id <c>global</c>, shared by every caller and instance and never
/// expiring; it is created on first use. Its scope is <see cref="StateScope.Session"/>(<c>global</c>).
/// </summary>
/// <typeparam name="TSession">The state type.</typeparam>
internal sealed class GlobalSessionManager<TSession>(IStateStore store, StateValueCodec codec, IStateProvider provider, SessionOptions options, TimeProvider time, Func<TSession>? defaultState, ILogger? logger)
    : SessionManagerBase<TSession>(store, codec, provider, options, time, defaultState, logger)
{
    /// <summary>The id (and scope id) of the one session.</summary>
    public const string GlobalId = "global";

    public override ValueTask<Session<TSession>> CreateAsync(TSession? initialState = default, CancellationToken cancellationToken = default) =>
        GlobalAsync(cancellationToken);

    public override async ValueTask<Session<TSession>?> GetAsync(string sessionId, CancellationToken cancellationToken = default) =>
        await GlobalAsync(cancellationToken).ConfigureAwait(false);

    public override ValueTask<Session<TSession>> UpdateAsync(string sessionId, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default) =>
        UpdateAsync(mutate, null, cancellationToken);

    public override async ValueTask<Session<TSession>> UpdateAsync(Session<TSession> session, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(mutate);
        return session.Id == GlobalId && session.Version > 0
            ? await UpdateReadRecordAsync(session, mutate, (_, _) => null, cancellationToken).ConfigureAwait(false)
            : await UpdateAsync(mutate, null, cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask<Session<TSession>> UpdateAtVersionAsync(string sessionId, long expectedVersion, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default) =>
        UpdateAsync(mutate, (long?)expectedVersion, cancellationToken);

    private async ValueTask<Session<TSession>> UpdateAsync(Func<TSession, TSession> mutate, long? expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        await GlobalAsync(cancellationToken).ConfigureAwait(false);
        return await UpdateRecordAsync(GlobalId, mutate, (_, _) => null, expectedVersion, cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default) =>
        DeleteRecordAsync(GlobalId, cancellationToken);

    public override ValueTask<Session<TSession>> RegenerateIdAsync(string sessionId, CancellationToken cancellationToken = default) =>
        GlobalAsync(cancellationToken);

    public override async IAsyncEnumerable<string> ListActiveAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (await Store.ExistsAsync(Keys.Record(GlobalId), cancellationToken).ConfigureAwait(false))
        {
            yield return GlobalId;
        }
    }

    public override ValueTask<int> CleanupExpiredAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

    protected override async ValueTask<(string Id, StateEntry Record)?> FindOwnerAsync(StateScope scope, CancellationToken cancellationToken) =>
        scope.OwnerId == GlobalId && await Store.GetAsync(Keys.Record(GlobalId), cancellationToken).ConfigureAwait(false) is { } global
            ? (GlobalId, global)
            : null;

    private async ValueTask<Session<TSession>> GlobalAsync(CancellationToken cancellationToken)
    {
        var entry = await Store.GetAsync(Keys.Record(GlobalId), cancellationToken).ConfigureAwait(false);
        if (entry is not null)
        {
            return ToSession(GlobalId, Decode(entry), entry.Version, null, isNew: false);
        }

        var record = new SessionRecord(DefaultState(), Now, GlobalId);
        try
        {
            var version = await SetRecordAsync(Keys.Record(GlobalId), Encoded(record).Bytes, new StateWriteOptions(0, Timeout.InfiniteTimeSpan), cancellationToken).ConfigureAwait(false);
            Raise(SessionEventKind.Created, GlobalId);
            return ToSession(GlobalId, record, version, null, isNew: true);
        }
        catch (StateConflictException)
        {
            return await GlobalAsync(cancellationToken).ConfigureAwait(false); // another caller created it first
        }
    }
}
