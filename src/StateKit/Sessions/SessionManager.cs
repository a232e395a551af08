using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>
/// The session manager over an <see cref="IStateStore"/>. A session is one entry <c>sessions/{type}/{id}</c> holding
/// the state, the creation time and a scope id (the provider scope of the session's other data, so that a new id
/// keeps it). The entry's time to live is the idle timeout capped by the absolute one, so an expired session is never
/// served even before cleanup. Sessions this instance created or used are tracked in an expiry heap (cleanup costs
/// what is due) and a least-recently-used list (for <see cref="SessionOptions.MaxSessions"/>).
/// </summary>
/// <typeparam name="TSession">The state type.</typeparam>
internal sealed class SessionManager<TSession> : ISessionManager<TSession>
{
    private const int IdLength = 22;
    private const string GlobalId = "global";
    private readonly IStateStore _store;
    private readonly StateValueCodec _codec;
    private readonly IStateProvider _provider;
    private readonly SessionOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<TSession> _defaultState;
    private readonly string _prefix;
    private readonly object _gate = new();
    private readonly Dictionary<string, Tracked> _known = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _lru = new();
    private readonly ExpiryQueue _expiry = new();
    private long _created;
    private long _expired;
    private long _evicted;
    private long _deleted;

    public SessionManager(IStateStore store, StateValueCodec codec, IStateProvider provider, SessionOptions options, TimeProvider time, Func<TSession>? defaultState)
    {
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

        _prefix = "sessions/" + name + "/";
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
        Reserve(sessionId, record.ScopeId, now + ttl);
        long version;
        try
        {
            version = await _store.SetAsync(_prefix + sessionId, bytes, new StateWriteOptions(0, ttl), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Forget(sessionId);
            throw;
        }

        await EvictAsync(Written(sessionId), cancellationToken).ConfigureAwait(false);
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

        var entry = await _store.GetAsync(_prefix + sessionId, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            Forget(sessionId);
            return null;
        }

        var record = Decode(entry);
        var expiresAt = entry.ExpiresAt;
        var now = Now;
        if (expiresAt is { } at && _options.IdleTimeout - (at - now) >= _options.IdleTimeout * _options.RefreshAfterFraction)
        {
            // Enough of the idle timeout has passed: extend the entry's life without rewriting the state.
            var ttl = TimeToLive(record.CreatedAt, now);
            if (ttl <= TimeSpan.Zero || !await _store.TouchAsync(_prefix + sessionId, ttl, cancellationToken).ConfigureAwait(false))
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

        return await ConflictRetry.RunAsync(_options.MaxUpdateAttempts, _store.Name, "Update", _prefix + id, async () =>
        {
            var entry = await _store.GetAsync(_prefix + id, cancellationToken).ConfigureAwait(false) ?? throw new SessionNotFoundException(id);
            var record = Decode(entry);
            var next = record with { State = mutate(record.State) };
            var bytes = Encoded(next).Bytes;
            var now = Now;
            TimeSpan? ttl = global ? null : TimeToLive(record.CreatedAt, now);
            if (ttl <= TimeSpan.Zero)
            {
                throw new SessionNotFoundException(id);
            }

            var version = await _store.SetAsync(_prefix + id, bytes, new StateWriteOptions(entry.Version, ttl ?? Timeout.InfiniteTimeSpan), cancellationToken).ConfigureAwait(false);
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

        var entry = await _store.GetAsync(_prefix + id, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            Forget(id);
            return false;
        }

        var deleted = await _store.DeleteAsync(_prefix + id, cancellationToken: cancellationToken).ConfigureAwait(false);
        await _provider.ClearScopeAsync(StateScope.Session(Decode(entry).ScopeId), cancellationToken).ConfigureAwait(false);
        Forget(id);
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

        return await ConflictRetry.RunAsync(_options.MaxUpdateAttempts, _store.Name, "RegenerateId", _prefix + sessionId, async () =>
        {
            var entry = await _store.GetAsync(_prefix + sessionId, cancellationToken).ConfigureAwait(false) ?? throw new SessionNotFoundException(sessionId);
            var record = Decode(entry);
            var now = Now;
            var ttl = TimeToLive(record.CreatedAt, now);
            if (ttl <= TimeSpan.Zero)
            {
                throw new SessionNotFoundException(sessionId);
            }

            var newId = NewId();
            var version = await _store.SetAsync(_prefix + newId, entry.Value, new StateWriteOptions(0, ttl), cancellationToken).ConfigureAwait(false);
            try
            {
                // Delete the old id only at the version copied: if someone updated it meanwhile, copy again.
                await _store.DeleteAsync(_prefix + sessionId, entry.Version, cancellationToken).ConfigureAwait(false);
            }
            catch (StateConflictException)
            {
                await _store.DeleteAsync(_prefix + newId, cancellationToken: cancellationToken).ConfigureAwait(false);
                throw;
            }

            Forget(sessionId);
            Track(newId, record.ScopeId, now + ttl);
            Raise(SessionEventKind.Deleted, sessionId);
            Raise(SessionEventKind.Created, newId);
            return ToSession(newId, record, version, now + ttl, isNew: false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<string> ListActiveAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var key in _store.ListKeysAsync(_prefix, cancellationToken).ConfigureAwait(false))
        {
            var id = key[_prefix.Length..];
            if (_options.Isolation == SessionIsolation.Global ? id == GlobalId : IsValidId(id))
            {
                yield return id;
            }
        }
    }

    public async ValueTask<int> CleanupExpiredAsync(CancellationToken cancellationToken = default)
    {
        var found = 0;
        while (true)
        {
            var due = _expiry.TakeDue(Now.UtcTicks, 1000);
            if (due.Count == 0)
            {
                break;
            }

            foreach (var (id, _) in due)
            {
                string scopeId;
                long? checkAgainAt = null;
                lock (_gate)
                {
                    var now = Now.UtcTicks;
                    if (!_known.TryGetValue(id, out var tracked) || tracked.ScheduledTicks > now)
                    {
                        continue; // stale: deleted, or a later check is already pending
                    }

                    if (tracked.ExpiresAtTicks > now)
                    {
                        // Used again since this check was scheduled: check again at its current expiry.
                        checkAgainAt = tracked.ScheduledTicks = tracked.ExpiresAtTicks;
                    }
                    else
                    {
                        tracked.ScheduledTicks = long.MaxValue; // this check is used up; Track schedules the next one
                    }

                    scopeId = tracked.ScopeId;
                }

                if (checkAgainAt is { } at)
                {
                    _expiry.Add(id, isList: false, at);
                    continue;
                }

                var entry = await _store.GetAsync(_prefix + id, cancellationToken).ConfigureAwait(false);
                if (entry is not null)
                {
                    // Another instance kept it alive: check again when it is due.
                    Track(id, scopeId, entry.ExpiresAt ?? DateTimeOffset.MaxValue, touchLru: false);
                    continue;
                }

                await _provider.ClearScopeAsync(StateScope.Session(scopeId), cancellationToken).ConfigureAwait(false);
                Forget(id);
                found++;
                Interlocked.Increment(ref _expired);
                Raise(SessionEventKind.Expired, id);
            }
        }

        CompactExpiryQueue();
        return found;
    }

    /// <summary>Gets the number of pending expiry checks, stale ones included (for tests).</summary>
    internal int ScheduledChecks => _expiry.Count;

    public SessionStats GetStats()
    {
        long active;
        lock (_gate)
        {
            active = _known.Count;
        }

        return new SessionStats(active, Interlocked.Read(ref _created), Interlocked.Read(ref _expired), Interlocked.Read(ref _evicted), Interlocked.Read(ref _deleted));
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
        var entry = await _store.GetAsync(_prefix + GlobalId, cancellationToken).ConfigureAwait(false);
        if (entry is not null)
        {
            return ToSession(GlobalId, Decode(entry), entry.Version, null, isNew: false);
        }

        var record = new SessionRecord(_defaultState(), Now, GlobalId);
        try
        {
            var version = await _store.SetAsync(_prefix + GlobalId, Encoded(record).Bytes, new StateWriteOptions(0, Timeout.InfiniteTimeSpan), cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _created);
            Raise(SessionEventKind.Created, GlobalId);
            return ToSession(GlobalId, record, version, null, isNew: true);
        }
        catch (StateConflictException)
        {
            return await GlobalAsync(cancellationToken).ConfigureAwait(false); // another caller created it first
        }
    }

    /// <summary>Tracks a session about to be written; it counts towards the limit but is not yet evictable.</summary>
    private void Reserve(string sessionId, string scopeId, DateTimeOffset expiresAt)
    {
        lock (_gate)
        {
            Track(sessionId, scopeId, expiresAt);
            _known[sessionId].Pending = true;
        }
    }

    /// <summary>Marks a session written and, past <see cref="SessionOptions.MaxSessions"/>, takes the least recently used written ones to evict.</summary>
    private List<(string Id, string ScopeId)> Written(string sessionId)
    {
        var victims = new List<(string, string)>();
        lock (_gate)
        {
            if (_known.TryGetValue(sessionId, out var written))
            {
                written.Pending = false;
            }

            for (var node = _lru.Last; _options.MaxSessions > 0 && _known.Count > _options.MaxSessions && node is not null;)
            {
                var previous = node.Previous;
                var tracked = _known[node.Value];
                if (!tracked.Pending)
                {
                    victims.Add((node.Value, tracked.ScopeId));
                    Forget(node.Value);
                }

                node = previous;
            }
        }

        return victims;
    }

    private async ValueTask EvictAsync(List<(string Id, string ScopeId)> victims, CancellationToken cancellationToken)
    {
        foreach (var (victim, scopeId) in victims)
        {
            if (await _store.DeleteAsync(_prefix + victim, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                await _provider.ClearScopeAsync(StateScope.Session(scopeId), cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _evicted);
                Raise(SessionEventKind.Evicted, victim);
            }
        }
    }

    private void Track(string id, string scopeId, DateTimeOffset expiresAt, bool touchLru = true)
    {
        if (id == GlobalId)
        {
            return;
        }

        var ticks = expiresAt.UtcTicks;
        bool schedule;
        lock (_gate)
        {
            if (_known.TryGetValue(id, out var tracked))
            {
                if (touchLru)
                {
                    _lru.Remove(tracked.Node);
                    _lru.AddFirst(tracked.Node);
                }

                tracked.ExpiresAtTicks = ticks;
            }
            else
            {
                tracked = _known[id] = new Tracked(scopeId, _lru.AddFirst(id), ticks);
            }

            // A session's expiry mostly moves later (every update or refresh). The heap keeps one check per session,
            // at its earliest expiry; when that check comes due, cleanup moves it to the current expiry. So an
            // update adds a check only when the expiry moved earlier (or none is pending).
            schedule = ticks < tracked.ScheduledTicks && ticks != DateTimeOffset.MaxValue.UtcTicks;
            if (schedule)
            {
                tracked.ScheduledTicks = ticks;
            }
        }

        if (schedule)
        {
            _expiry.Add(id, isList: false, ticks);
        }
    }

    private void Forget(string id)
    {
        lock (_gate)
        {
            if (_known.Remove(id, out var tracked))
            {
                _lru.Remove(tracked.Node);
            }
        }
    }

    private void CompactExpiryQueue()
    {
        // Deleted sessions and expiries that moved earlier leave stale checks behind; rebuild the heap when they
        // outnumber live sessions.
        List<(string, bool, long)> live;
        lock (_gate)
        {
            if (_expiry.Count <= (2 * _known.Count) + 1024)
            {
                return;
            }

            live = [];
            foreach (var (id, tracked) in _known)
            {
                tracked.ScheduledTicks = tracked.ExpiresAtTicks;
                if (tracked.ExpiresAtTicks != DateTimeOffset.MaxValue.UtcTicks)
                {
                    live.Add((id, false, tracked.ExpiresAtTicks));
                }
            }
        }

        _expiry.Reset(live);
    }

    private void Raise(SessionEventKind kind, string id) => SessionChanged?.Invoke(this, new SessionEvent(kind, id, Now));

    /// <summary>What is stored for a session.</summary>
    /// <param name="State">The state.</param>
    /// <param name="CreatedAt">When it was created (for the absolute timeout).</param>
    /// <param name="ScopeId">The id of its provider scope; stays when the session id is regenerated.</param>
    internal sealed record SessionRecord(TSession State, DateTimeOffset CreatedAt, string ScopeId);

    private sealed class Tracked(string scopeId, LinkedListNode<string> node, long expiresAtTicks)
    {
        public string ScopeId { get; } = scopeId;

        public LinkedListNode<string> Node { get; } = node;

        public long ExpiresAtTicks { get; set; } = expiresAtTicks;

        /// <summary>Gets or sets a value indicating whether the session is being created and not yet written (never evicted then).</summary>
        public bool Pending { get; set; }

        /// <summary>Gets or sets when the pending expiry check in the heap is due; <see cref="long.MaxValue"/> when none is.</summary>
        public long ScheduledTicks { get; set; } = long.MaxValue;
    }
}
