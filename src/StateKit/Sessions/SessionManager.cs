using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>
/// <see cref="SessionIsolation.PerSession"/>: a session is one record (<see cref="SessionKeys"/>) holding the state,
/// the creation time and a scope id (the provider scope of the session's other data, so that a new id keeps it). The
/// record's time to live is the idle timeout capped by the absolute one, so an expired session is never served even
/// before cleanup. Sessions this instance created or used are tracked by a <see cref="SessionTracker"/>; their scopes
/// are cleared through <see cref="SessionScopes"/>, which also finds the scopes of sessions no instance tracked.
/// </summary>
/// <typeparam name="TSession">The state type.</typeparam>
internal sealed class SessionManager<TSession> : SessionManagerBase<TSession>
{
    private readonly SessionTracker _tracker = new();
    private long _nextSweepTicks;

    public SessionManager(IStateStore store, StateValueCodec codec, IStateProvider provider, SessionOptions options, TimeProvider time, Func<TSession>? defaultState, ILogger? logger = null)
        : base(store, codec, provider, options, time, defaultState, logger)
    {
        _nextSweepTicks = time.GetUtcNow().UtcTicks + options.OrphanSweepInterval.Ticks;
    }

    /// <summary>Gets the number of pending expiry checks, stale ones included (for tests).</summary>
    internal int ScheduledChecks => _tracker.ScheduledChecks;

    protected override long Active => _tracker.Count;

    /// <summary>Creates the session manager of the configured <see cref="SessionOptions.Isolation"/>.</summary>
    public static SessionManagerBase<TSession> Create(IStateStore store, StateValueCodec codec, IStateProvider provider, SessionOptions options, TimeProvider time, Func<TSession>? defaultState, ILogger? logger) =>
        options.Isolation switch
        {
            SessionIsolation.Stateless => new StatelessSessionManager<TSession>(store, codec, provider, options, time, defaultState, logger),
            SessionIsolation.Global => new GlobalSessionManager<TSession>(store, codec, provider, options, time, defaultState, logger),
            _ => new SessionManager<TSession>(store, codec, provider, options, time, defaultState, logger),
        };

    public override async ValueTask<Session<TSession>> CreateAsync(TSession? initialState = default, CancellationToken cancellationToken = default)
    {
        var state = initialState ?? DefaultState();
        var now = Now;
        var record = new SessionRecord(state, now, NewId());
        var bytes = Encoded(record).Bytes;
        var sessionId = NewId();
        var ttl = TimeToLive(now, now);

        // The new session is tracked (as pending) before it is written, and once it is written the least recently used
        // written sessions beyond the limit are evicted. Concurrent creates all count each other, and a session is
        // never evicted before its own write has landed, so the limit holds however many creates run at once.
        if (!_tracker.Reserve(sessionId, record.ScopeId, now + ttl, Options.LimitBehavior == SessionLimitBehavior.Refuse ? Options.MaxSessions : 0))
        {
            throw new SessionLimitExceededException(Options.MaxSessions);
        }

        long version;
        try
        {
            // The scope's owner entry and the record in one batch (the owner first where batches are not atomic).
            var versions = await SetRecordsAsync(
            [
                Scopes.OwnerWrite(record.ScopeId, sessionId),
                new StateWrite(Keys.Record(sessionId), bytes, new StateWriteOptions(0, ttl)),
            ], cancellationToken).ConfigureAwait(false);
            version = versions[1];
            Wrote(sessionId, bytes, record);
        }
        catch
        {
            _tracker.Forget(sessionId);
            throw;
        }

        await EvictAsync(_tracker.Written(sessionId, Options.MaxSessions), cancellationToken).ConfigureAwait(false);
        Raise(SessionEventKind.Created, sessionId);
        return new Session<TSession>(sessionId, state, version, now, now + ttl, StateScope.Session(record.ScopeId), IsNew: true);
    }

    public override async ValueTask<Session<TSession>> CopyAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var source = await GetAsync(sessionId, cancellationToken).ConfigureAwait(false) ?? throw new SessionNotFoundException(sessionId);
        var copy = await CreateAsync(source.State, cancellationToken).ConfigureAwait(false);
        try
        {
            await Provider.ForkAsync(source.Scope, copy.Scope, null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await DeleteAsync(copy.Id, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        return copy;
    }

    public override async ValueTask<Session<TSession>?> GetAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        if (!IsValidId(sessionId))
        {
            return Invalid(sessionId);
        }

        var entry = await Store.GetAsync(Keys.Record(sessionId), cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            _tracker.Forget(sessionId);
            return null;
        }

        var record = Decode(entry);
        var expiresAt = entry.ExpiresAt;
        var now = Now;
        if (expiresAt is { } at && Options.IdleTimeout - (at - now) >= Options.IdleTimeout * Options.RefreshAfterFraction)
        {
            // Enough of the idle timeout has passed: extend the entry's life without rewriting the state.
            var ttl = TimeToLive(record.CreatedAt, now);
            if (ttl <= TimeSpan.Zero || !await Store.TouchAsync(Keys.Record(sessionId), ttl, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            expiresAt = now + ttl;
        }

        _tracker.Track(sessionId, record.ScopeId, expiresAt ?? DateTimeOffset.MaxValue);
        return ToSession(sessionId, record, entry.Version, expiresAt, isNew: false);
    }

    public override ValueTask<Session<TSession>> UpdateAsync(string sessionId, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default) =>
        UpdateAsync(sessionId, mutate, null, cancellationToken);

    public override async ValueTask<Session<TSession>> UpdateAsync(Session<TSession> session, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(mutate);
        if (!IsValidId(session.Id))
        {
            throw new InvalidSessionIdException(session.Id);
        }

        return await UpdateReadRecordAsync(session, mutate, (record, now) => TimeToLive(record.CreatedAt, now), cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask<Session<TSession>> UpdateAtVersionAsync(string sessionId, long expectedVersion, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default) =>
        UpdateAsync(sessionId, mutate, (long?)expectedVersion, cancellationToken);

    private async ValueTask<Session<TSession>> UpdateAsync(string sessionId, Func<TSession, TSession> mutate, long? expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        if (!IsValidId(sessionId))
        {
            throw new InvalidSessionIdException(sessionId);
        }

        return await UpdateRecordAsync(sessionId, mutate, (record, now) => TimeToLive(record.CreatedAt, now), expectedVersion, cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        if (!IsValidId(sessionId))
        {
            _ = Invalid(sessionId); // throws when InvalidId is Throw
            return false;
        }

        return await DeleteRecordAsync(sessionId, cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask<Session<TSession>> RegenerateIdAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        if (!IsValidId(sessionId))
        {
            throw new InvalidSessionIdException(sessionId);
        }

        return await ConflictRetry.RunAsync(Options.MaxUpdateAttempts, Store.Name, "RegenerateId", Keys.Record(sessionId), async () =>
        {
            var entry = await Store.GetAsync(Keys.Record(sessionId), cancellationToken).ConfigureAwait(false) ?? throw new SessionNotFoundException(sessionId);
            var record = Decode(entry);
            var now = Now;
            var ttl = TimeToLive(record.CreatedAt, now);
            if (ttl <= TimeSpan.Zero)
            {
                throw new SessionNotFoundException(sessionId);
            }

            // The new id joins the scope's owners before its record exists, and the old id leaves them only after its
            // record is gone: at every step a live owner is named, so no instance clears the scope in between.
            var newId = NewId();
            var ownerVersion = await Scopes.AddOwnerAsync(record.ScopeId, newId, Options.MaxUpdateAttempts, cancellationToken).ConfigureAwait(false);
            var version = await SetRecordAsync(Keys.Record(newId), entry.Value, new StateWriteOptions(0, ttl), cancellationToken).ConfigureAwait(false);
            try
            {
                // Delete the old id only at the version copied: if someone updated it meanwhile, copy again.
                await DeleteRecordAsync(Keys.Record(sessionId), entry.Version, cancellationToken).ConfigureAwait(false);
            }
            catch (StateConflictException)
            {
                await DeleteRecordAsync(Keys.Record(newId), null, cancellationToken).ConfigureAwait(false);
                throw;
            }

            await Scopes.SetOwnerAsync(record.ScopeId, newId, ownerVersion, cancellationToken).ConfigureAwait(false);
            _tracker.Forget(sessionId);
            _tracker.Track(newId, record.ScopeId, now + ttl);
            Raise(SessionEventKind.Deleted, sessionId, count: false);
            Raise(SessionEventKind.Created, newId, count: false);
            return ToSession(newId, record, version, now + ttl, isNew: false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public override async IAsyncEnumerable<string> ListActiveAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var key in Store.ListKeysAsync(Keys.RecordPrefix, cancellationToken).ConfigureAwait(false))
        {
            var id = key[Keys.RecordPrefix.Length..];
            if (IsValidId(id))
            {
                yield return id;
            }
        }
    }

    public override async ValueTask<int> CleanupExpiredAsync(CancellationToken cancellationToken = default)
    {
        var found = 0;
        for (var due = _tracker.TakeDue(Now.UtcTicks); due.Count > 0; due = _tracker.TakeDue(Now.UtcTicks))
        {
            foreach (var (id, scopeId) in due)
            {
                var entry = await Store.GetAsync(Keys.Record(id), cancellationToken).ConfigureAwait(false);
                if (entry is not null)
                {
                    // Another instance kept it alive: check again when it is due.
                    _tracker.Track(id, scopeId, entry.ExpiresAt ?? DateTimeOffset.MaxValue, touchLru: false);
                    continue;
                }

                // The scope stays when another instance regenerated the id: the new one owns it.
                await Scopes.EndIfOrphanedAsync(scopeId, cancellationToken).ConfigureAwait(false);
                _tracker.Forget(id);
                found++;
                Raise(SessionEventKind.Expired, id);
            }
        }

        _tracker.Compact();
        var sweepDue = Interlocked.Read(ref _nextSweepTicks);
        if (Options.OrphanSweepInterval > TimeSpan.Zero && Now.UtcTicks >= sweepDue && Sweeping.IsCompleted
            && Interlocked.CompareExchange(ref _nextSweepTicks, Now.UtcTicks + Options.OrphanSweepInterval.Ticks, sweepDue) == sweepDue)
        {
            // The sweep reads every scope owner and session record of this type: it runs beside this pass, not in it,
            // so a pass costs what is expired, not what is alive (100,000 live sessions made a pass 44 times slower).
            Sweeping = Task.Run(SweepAsync, CancellationToken.None);
        }

        return found;
    }

    /// <summary>Gets the last orphan sweep started by a cleanup pass (tests wait for it).</summary>
    internal Task Sweeping { get; private set; } = Task.CompletedTask;

    private async Task SweepAsync()
    {
        try
        {
            var cleared = await Scopes.SweepAsync(CancellationToken.None).ConfigureAwait(false);
            if (cleared > 0)
            {
                Log.OrphanScopesCleared(Logger, Name, cleared);
            }
        }
        catch (Exception ex) when (ex is StateStoreException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            Log.OrphanSweepFailed(Logger, ex, Name);
        }
    }

    protected override async ValueTask<(string Id, StateEntry Record)?> FindOwnerAsync(StateScope scope, CancellationToken cancellationToken) =>
        await Scopes.FindOwnerAsync(scope.OwnerId, cancellationToken).ConfigureAwait(false);

    protected override void Written(string id, string scopeId, DateTimeOffset? expiresAt) =>
        _tracker.Track(id, scopeId, expiresAt ?? DateTimeOffset.MaxValue);

    protected override void Forgotten(string id) => _tracker.Forget(id);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private TimeSpan TimeToLive(DateTimeOffset createdAt, DateTimeOffset now) =>
        Options.AbsoluteTimeout is { } absolute ? Min(Options.IdleTimeout, createdAt + absolute - now) : Options.IdleTimeout;

    private async ValueTask EvictAsync(List<(string Id, string ScopeId)> victims, CancellationToken cancellationToken)
    {
        foreach (var (victim, scopeId) in victims)
        {
            if (await DeleteRecordAsync(Keys.Record(victim), null, cancellationToken).ConfigureAwait(false))
            {
                await Scopes.EndAsync(scopeId, cancellationToken).ConfigureAwait(false);
                Raise(SessionEventKind.Evicted, victim);
            }
        }
    }
}
