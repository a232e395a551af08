using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using StateKit.Adapters;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>
/// The session manager over an <see cref="IStateStore"/>. A session is one record (<see cref="SessionKeys"/>) holding
/// the state, the creation time and a scope id (the provider scope of the session's other data, so that a new id
/// keeps it). The record's time to live is the idle timeout capped by the absolute one, so an expired session is never
/// served even before cleanup. Sessions this instance created or used are tracked by a <see cref="SessionTracker"/>;
/// their scopes are cleared through <see cref="SessionScopes"/>, which also finds the scopes of sessions no instance
/// tracked. A checkpoint of a session's scope includes the session's state (<see cref="IStateCheckpointParticipant"/>).
/// </summary>
/// <typeparam name="TSession">The state type.</typeparam>
internal sealed class SessionManager<TSession> : ISessionManager<TSession>, IStateCheckpointParticipant
{
    private const int IdLength = 22;
    private const string GlobalId = "global";
    private readonly IStateStore _store;
    private readonly StateValueCodec _codec;
    private readonly IStateProvider _provider;
    private readonly SessionOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<TSession> _defaultState;
    private readonly SessionKeys _keys;
    private readonly SessionTracker _tracker = new();
    private readonly SessionScopes _scopes;
    private readonly string _name;
    private readonly ILogger _logger;
    private long _nextSweepTicks;
    private long _created;
    private long _expired;
    private long _evicted;
    private long _deleted;

    public SessionManager(IStateStore store, StateValueCodec codec, IStateProvider provider, SessionOptions options, TimeProvider time, Func<TSession>? defaultState, ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        if (options.IdleTimeout <= TimeSpan.Zero || options.AbsoluteTimeout is { } absolute && absolute <= TimeSpan.Zero)
        {
            throw new ArgumentException("Session timeouts must be positive.", nameof(options));
        }

        _store = store;
        _codec = codec;
        _provider = provider;
        _options = options;
        _time = time;
        _defaultState = defaultState ?? CreateDefault;
        var name = options.Name ?? DefaultName(typeof(TSession));
        if (!StateKeys.IsValid(name, 256, out var reason) || name.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The session name '{StateKeys.Printable(name)}' of {typeof(TSession)} is not valid: {reason ?? "it may not contain '/'"}.", nameof(options));
        }

        _name = name;
        _keys = new SessionKeys(name);
        _scopes = new SessionScopes(store, provider, _keys);
        _nextSweepTicks = time.GetUtcNow().UtcTicks + options.OrphanSweepInterval.Ticks;
    }

    public event EventHandler<SessionEvent>? SessionChanged;

    private DateTimeOffset Now => _time.GetUtcNow();

    public async ValueTask<Session<TSession>> CreateAsync(TSession? initialState = default, CancellationToken cancellationToken = default)
    {
        var state = initialState ?? _defaultState();
        if (_options.Isolation == SessionIsolation.Stateless)
        {
            var id = NewId();
            return new Session<TSession>(id, Encoded(state).State, 0, Now, null, StateScope.Session(id), IsNew: true);
        }

        if (_options.Isolation == SessionIsolation.Global)
        {
            return await GlobalAsync(cancellationToken).ConfigureAwait(false);
        }

        var now = Now;
        var record = new SessionRecord(state, now, NewId());
        var bytes = Encoded(record).Bytes;
        var sessionId = NewId();
        var ttl = TimeToLive(now, now);

        // The new session is tracked (as pending) before it is written, and once it is written the least recently used
        // written sessions beyond the limit are evicted. Concurrent creates all count each other, and a session is
        // never evicted before its own write has landed, so the limit holds however many creates run at once.
        _tracker.Reserve(sessionId, record.ScopeId, now + ttl);
        long version;
        try
        {
            // The scope's owner entry and the record in one batch (the owner first where batches are not atomic).
            var versions = await _store.SetManyAsync(
            [
                _scopes.OwnerWrite(record.ScopeId, sessionId),
                new StateWrite(_keys.Record(sessionId), bytes, new StateWriteOptions(0, ttl)),
            ], cancellationToken).ConfigureAwait(false);
            version = versions[1];
        }
        catch
        {
            _tracker.Forget(sessionId);
            throw;
        }

        await EvictAsync(_tracker.Written(sessionId, _options.MaxSessions), cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _created);
        Raise(SessionEventKind.Created, sessionId);
        return new Session<TSession>(sessionId, state, version, now, now + ttl, StateScope.Session(record.ScopeId), IsNew: true);
    }

    public async ValueTask<Session<TSession>?> GetAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        switch (_options.Isolation)
        {
            case SessionIsolation.Stateless:
                return IsValidId(sessionId)
                    ? new Session<TSession>(sessionId, _defaultState(), 0, Now, null, StateScope.Session(sessionId), IsNew: false)
                    : Invalid(sessionId);
            case SessionIsolation.Global:
                return await GlobalAsync(cancellationToken).ConfigureAwait(false);
        }

        if (!IsValidId(sessionId))
        {
            return Invalid(sessionId);
        }

        var entry = await _store.GetAsync(_keys.Record(sessionId), cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            _tracker.Forget(sessionId);
            return null;
        }

        var record = Decode(entry);
        var expiresAt = entry.ExpiresAt;
        var now = Now;
        if (expiresAt is { } at && _options.IdleTimeout - (at - now) >= _options.IdleTimeout * _options.RefreshAfterFraction)
        {
            // Enough of the idle timeout has passed: extend the entry's life without rewriting the state.
            var ttl = TimeToLive(record.CreatedAt, now);
            if (ttl <= TimeSpan.Zero || !await _store.TouchAsync(_keys.Record(sessionId), ttl, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            expiresAt = now + ttl;
        }

        Track(sessionId, record.ScopeId, expiresAt ?? DateTimeOffset.MaxValue);
        return ToSession(sessionId, record, entry.Version, expiresAt, isNew: false);
    }

    public async ValueTask<Session<TSession>> GetOrCreateAsync(string? sessionId, CancellationToken cancellationToken = default)
    {
        if (sessionId is not null && (await GetAsync(sessionId, cancellationToken).ConfigureAwait(false)) is { } existing)
        {
            return existing;
        }

        if (sessionId is not null && _options.InvalidId == InvalidSessionIdBehavior.Throw)
        {
            throw new SessionNotFoundException(sessionId);
        }

        return await CreateAsync(default, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<Session<TSession>> UpdateAsync(string sessionId, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        if (_options.Isolation == SessionIsolation.Stateless)
        {
            return new Session<TSession>(sessionId, Encoded(mutate(_defaultState())).State, 0, Now, null, StateScope.Session(sessionId), IsNew: false);
        }

        var global = _options.Isolation == SessionIsolation.Global;
        var id = global ? GlobalId : sessionId;
        if (!global && !IsValidId(id))
        {
            throw new InvalidSessionIdException(sessionId);
        }

        if (global)
        {
            await GlobalAsync(cancellationToken).ConfigureAwait(false);
        }

        return await ConflictRetry.RunAsync(_options.MaxUpdateAttempts, _store.Name, "Update", _keys.Record(id), async () =>
        {
            var entry = await _store.GetAsync(_keys.Record(id), cancellationToken).ConfigureAwait(false) ?? throw new SessionNotFoundException(id);
            var record = Decode(entry);
            var next = record with { State = mutate(record.State) };
            var bytes = Encoded(next).Bytes;
            var now = Now;
            TimeSpan? ttl = global ? null : TimeToLive(record.CreatedAt, now);
            if (ttl <= TimeSpan.Zero)
            {
                throw new SessionNotFoundException(id);
            }

            var version = await _store.SetAsync(_keys.Record(id), bytes, new StateWriteOptions(entry.Version, ttl ?? Timeout.InfiniteTimeSpan), cancellationToken).ConfigureAwait(false);
            var expiresAt = now + ttl;
            Track(id, record.ScopeId, expiresAt ?? DateTimeOffset.MaxValue);
            Raise(SessionEventKind.Updated, id);
            return ToSession(id, next, version, expiresAt, isNew: false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var id = _options.Isolation == SessionIsolation.Global ? GlobalId : sessionId;
        if (_options.Isolation != SessionIsolation.Global && !IsValidId(id))
        {
            _ = Invalid(sessionId); // throws when InvalidId is Throw
            return false;
        }

        if (_options.Isolation == SessionIsolation.Stateless)
        {
            return false; // nothing is ever stored
        }

        var entry = await _store.GetAsync(_keys.Record(id), cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            _tracker.Forget(id);
            return false;
        }

        var deleted = await _store.DeleteAsync(_keys.Record(id), cancellationToken: cancellationToken).ConfigureAwait(false);
        await _scopes.EndAsync(Decode(entry).ScopeId, cancellationToken).ConfigureAwait(false);
        _tracker.Forget(id);
        if (deleted)
        {
            Interlocked.Increment(ref _deleted);
            Raise(SessionEventKind.Deleted, id);
        }

        return deleted;
    }

    public async ValueTask<Session<TSession>> RegenerateIdAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        if (_options.Isolation != SessionIsolation.PerSession)
        {
            return await GetOrCreateAsync(sessionId, cancellationToken).ConfigureAwait(false);
        }

        if (!IsValidId(sessionId))
        {
            throw new InvalidSessionIdException(sessionId);
        }

        return await ConflictRetry.RunAsync(_options.MaxUpdateAttempts, _store.Name, "RegenerateId", _keys.Record(sessionId), async () =>
        {
            var entry = await _store.GetAsync(_keys.Record(sessionId), cancellationToken).ConfigureAwait(false) ?? throw new SessionNotFoundException(sessionId);
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
            var ownerVersion = await _scopes.AddOwnerAsync(record.ScopeId, newId, _options.MaxUpdateAttempts, cancellationToken).ConfigureAwait(false);
            var version = await _store.SetAsync(_keys.Record(newId), entry.Value, new StateWriteOptions(0, ttl), cancellationToken).ConfigureAwait(false);
            try
            {
                // Delete the old id only at the version copied: if someone updated it meanwhile, copy again.
                await _store.DeleteAsync(_keys.Record(sessionId), entry.Version, cancellationToken).ConfigureAwait(false);
            }
            catch (StateConflictException)
            {
                await _store.DeleteAsync(_keys.Record(newId), cancellationToken: cancellationToken).ConfigureAwait(false);
                throw;
            }

            await _scopes.SetOwnerAsync(record.ScopeId, newId, ownerVersion, cancellationToken).ConfigureAwait(false);
            _tracker.Forget(sessionId);
            _tracker.Track(newId, record.ScopeId, now + ttl);
            Raise(SessionEventKind.Deleted, sessionId);
            Raise(SessionEventKind.Created, newId);
            return ToSession(newId, record, version, now + ttl, isNew: false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<string> ListActiveAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var key in _store.ListKeysAsync(_keys.RecordPrefix, cancellationToken).ConfigureAwait(false))
        {
            var id = key[_keys.RecordPrefix.Length..];
            if (_options.Isolation == SessionIsolation.Global ? id == GlobalId : IsValidId(id))
            {
                yield return id;
            }
        }
    }

    public async ValueTask<int> CleanupExpiredAsync(CancellationToken cancellationToken = default)
    {
        var found = 0;
        for (var due = _tracker.TakeDue(Now.UtcTicks); due.Count > 0; due = _tracker.TakeDue(Now.UtcTicks))
        {
            foreach (var (id, scopeId) in due)
            {
                var entry = await _store.GetAsync(_keys.Record(id), cancellationToken).ConfigureAwait(false);
                if (entry is not null)
                {
                    // Another instance kept it alive: check again when it is due.
                    _tracker.Track(id, scopeId, entry.ExpiresAt ?? DateTimeOffset.MaxValue, touchLru: false);
                    continue;
                }

                // The scope stays when another instance regenerated the id: the new one owns it.
                await _scopes.EndIfOrphanedAsync(scopeId, cancellationToken).ConfigureAwait(false);
                _tracker.Forget(id);
                found++;
                Interlocked.Increment(ref _expired);
                Raise(SessionEventKind.Expired, id);
            }
        }

        _tracker.Compact();
        if (_options.OrphanSweepInterval > TimeSpan.Zero && Now.UtcTicks >= Interlocked.Read(ref _nextSweepTicks))
        {
            Interlocked.Exchange(ref _nextSweepTicks, Now.UtcTicks + _options.OrphanSweepInterval.Ticks);
            var cleared = await _scopes.SweepAsync(cancellationToken).ConfigureAwait(false);
            if (cleared > 0)
            {
                Log.OrphanScopesCleared(_logger, _name, cleared);
            }
        }

        return found;
    }

    /// <summary>Gets the name of this manager's part in a checkpoint of a session scope.</summary>
    public string PartName => "session:" + _name;

    /// <summary>The state of the live session that owns <paramref name="scope"/>, for a checkpoint of that scope.</summary>
    public async ValueTask<byte[]?> CaptureAsync(StateScope scope, CancellationToken cancellationToken)
    {
        if (scope.Tier != StateTier.Session || _options.Isolation == SessionIsolation.Stateless)
        {
            return null;
        }

        return await FindOwnerAsync(scope, cancellationToken).ConfigureAwait(false) is { } owner
            ? _codec.Encode(Decode(owner.Record).State)
            : null;
    }

    /// <summary>Puts a checkpoint's session state back into the live session that owns <paramref name="scope"/> (keeping its expiry).</summary>
    public async ValueTask<bool> RestoreAsync(StateScope scope, byte[] part, CancellationToken cancellationToken)
    {
        if (scope.Tier != StateTier.Session || _options.Isolation == SessionIsolation.Stateless || await FindOwnerAsync(scope, cancellationToken).ConfigureAwait(false) is not { } owner)
        {
            return false;
        }

        var state = _codec.Decode<TSession>(part, PartName)!;
        await ConflictRetry.RunAsync(_options.MaxUpdateAttempts, _store.Name, "RestoreCheckpoint", _keys.Record(owner.Id), async () =>
        {
            var entry = await _store.GetAsync(_keys.Record(owner.Id), cancellationToken).ConfigureAwait(false) ?? throw new SessionNotFoundException(owner.Id);
            var bytes = Encoded(Decode(entry) with { State = state }).Bytes;
            return await _store.SetAsync(_keys.Record(owner.Id), bytes, new StateWriteOptions(entry.Version, StateTimeToLive.KeepCurrent), cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        Raise(SessionEventKind.Updated, owner.Id);
        return true;
    }

    /// <summary>The live session whose scope is <paramref name="scope"/> (the one global session in <see cref="SessionIsolation.Global"/>).</summary>
    private async ValueTask<(string Id, StateEntry Record)?> FindOwnerAsync(StateScope scope, CancellationToken cancellationToken)
    {
        if (_options.Isolation != SessionIsolation.Global)
        {
            return await _scopes.FindOwnerAsync(scope.OwnerId, cancellationToken).ConfigureAwait(false);
        }

        return scope.OwnerId == GlobalId && await _store.GetAsync(_keys.Record(GlobalId), cancellationToken).ConfigureAwait(false) is { } global
            ? (GlobalId, global)
            : null;
    }

    /// <summary>Gets the number of pending expiry checks, stale ones included (for tests).</summary>
    internal int ScheduledChecks => _tracker.ScheduledChecks;

    public SessionStats GetStats()
    {
        return new SessionStats(_tracker.Count, Interlocked.Read(ref _created), Interlocked.Read(ref _expired), Interlocked.Read(ref _evicted), Interlocked.Read(ref _deleted));
    }

    /// <summary>The stable default store name of a session type: namespace-qualified, with readable type arguments (never an assembly version).</summary>
    internal static string DefaultName(Type type)
    {
        var name = type.IsGenericType ? type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)] : type.Name;
        if (type.IsNested && type.DeclaringType is { } outer)
        {
            name = DefaultName(outer) + "+" + name;
        }
        else if (!string.IsNullOrEmpty(type.Namespace))
        {
            name = type.Namespace + "." + name;
        }

        return type.IsGenericType && !type.IsGenericTypeDefinition
            ? name + "[" + string.Join(",", type.GetGenericArguments().Select(DefaultName)) + "]"
            : name;
    }

    private static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    private static bool IsValidId(string? id) =>
        id is { Length: IdLength } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static TSession CreateDefault()
    {
        // A parameterless constructor, or one whose parameters all have defaults (records such as Chat(int Turns = 0)).
        var constructor = typeof(TSession).GetConstructors()
            .Where(c => c.GetParameters().All(p => p.HasDefaultValue))
            .OrderBy(c => c.GetParameters().Length)
            .FirstOrDefault();
        return constructor is not null
            ? (TSession)constructor.Invoke(constructor.GetParameters().Select(p => p.DefaultValue).ToArray())
            : typeof(TSession).IsValueType
                ? default!
                : throw new InvalidOperationException($"{typeof(TSession).Name} has no constructor without required parameters: pass a default-state factory to AddSessions<{typeof(TSession).Name}>(…).");
    }

    private Session<TSession>? Invalid(string? sessionId) =>
        _options.InvalidId == InvalidSessionIdBehavior.Throw ? throw new InvalidSessionIdException(sessionId) : null;

    private TimeSpan TimeToLive(DateTimeOffset createdAt, DateTimeOffset now) =>
        _options.AbsoluteTimeout is { } absolute ? Min(_options.IdleTimeout, createdAt + absolute - now) : _options.IdleTimeout;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private (T State, byte[] Bytes) Encoded<T>(T state)
    {
        var bytes = _codec.Encode(state);
        return bytes.Length > _options.MaxStateBytes ? throw new SessionStateTooLargeException(bytes.Length, _options.MaxStateBytes) : (state, bytes);
    }

    private SessionRecord Decode(StateEntry entry) =>
        _codec.Decode<SessionRecord>(entry.Value.Span, entry.Key) ?? throw new StateCorruptedException(_store.Name, "session read", entry.Key, "the session record is empty");

    private Session<TSession> ToSession(string id, SessionRecord record, long version, DateTimeOffset? expiresAt, bool isNew) =>
        new(id, record.State, version, record.CreatedAt, expiresAt, StateScope.Session(record.ScopeId), isNew);

    private async ValueTask<Session<TSession>> GlobalAsync(CancellationToken cancellationToken)
    {
        var entry = await _store.GetAsync(_keys.Record(GlobalId), cancellationToken).ConfigureAwait(false);
        if (entry is not null)
        {
            return ToSession(GlobalId, Decode(entry), entry.Version, null, isNew: false);
        }

        var record = new SessionRecord(_defaultState(), Now, GlobalId);
        try
        {
            var version = await _store.SetAsync(_keys.Record(GlobalId), Encoded(record).Bytes, new StateWriteOptions(0, Timeout.InfiniteTimeSpan), cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _created);
            Raise(SessionEventKind.Created, GlobalId);
            return ToSession(GlobalId, record, version, null, isNew: true);
        }
        catch (StateConflictException)
        {
            return await GlobalAsync(cancellationToken).ConfigureAwait(false); // another caller created it first
        }
    }

    private async ValueTask EvictAsync(List<(string Id, string ScopeId)> victims, CancellationToken cancellationToken)
    {
        foreach (var (victim, scopeId) in victims)
        {
            if (await _store.DeleteAsync(_keys.Record(victim), cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                await _scopes.EndAsync(scopeId, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _evicted);
                Raise(SessionEventKind.Evicted, victim);
            }
        }
    }

    private void Track(string id, string scopeId, DateTimeOffset expiresAt)
    {
        if (id != GlobalId)
        {
            _tracker.Track(id, scopeId, expiresAt);
        }
    }

    private void Raise(SessionEventKind kind, string id) => SessionChanged?.Invoke(this, new SessionEvent(kind, id, Now));

    /// <summary>What is stored for a session.</summary>
    /// <param name="State">The state.</param>
    /// <param name="CreatedAt">When it was created (for the absolute timeout).</param>
    /// <param name="ScopeId">The id of its provider scope; stays when the session id is regenerated.</param>
    internal sealed record SessionRecord(TSession State, DateTimeOffset CreatedAt, string ScopeId);
}
