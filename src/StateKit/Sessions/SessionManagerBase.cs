using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Adapters;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>
/// What the session managers of every isolation mode share: options and name checks, the record format
/// (<see cref="SessionRecord"/>, stored under <see cref="SessionKeys"/>), ids, events and statistics, updates and
/// deletes of a stored record, and the session state's part in checkpoints of its scope. Each
/// <see cref="SessionIsolation"/> mode is its own type: <see cref="SessionManager{TSession}"/> (per session),
/// <see cref="GlobalSessionManager{TSession}"/> and <see cref="StatelessSessionManager{TSession}"/>.
/// </summary>
/// <typeparam name="TSession">The state type.</typeparam>
internal abstract class SessionManagerBase<TSession> : ISessionManager<TSession>, IStateCheckpointParticipant
{
    private const int IdLength = 22;
    private readonly Func<TSession> _defaultState;
    private readonly long[] _counts = new long[Enum.GetValues<SessionEventKind>().Length];
    private readonly SessionRemoteEvents? _remote;
    private readonly DecodedCache<SessionRecord>? _decoded = ImmutableType<TSession>.Known ? new() : null;
    private EventHandler<SessionEvent>? _changed;
    private int _remoteStarted;
    private IAsyncDisposable? _remoteSubscription; // lives as long as the manager (the store's disposal ends it)

    protected SessionManagerBase(IStateStore store, StateValueCodec codec, IStateProvider provider, SessionOptions options, TimeProvider time, Func<TSession>? defaultState, ILogger? logger)
    {
        if (options.IdleTimeout <= TimeSpan.Zero || options.AbsoluteTimeout is { } absolute && absolute <= TimeSpan.Zero)
        {
            throw new ArgumentException("Session timeouts must be positive.", nameof(options));
        }

        var name = options.Name ?? DefaultName(typeof(TSession));
        if (!StateKeys.IsValid(name, 256, out var reason) || name.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The session name '{StateKeys.Printable(name)}' of {typeof(TSession)} is not valid: {reason ?? "it may not contain '/'"}.", nameof(options));
        }

        Store = store;
        Codec = codec;
        Options = options;
        Time = time;
        Logger = logger ?? NullLogger.Instance;
        Name = name;
        Keys = new SessionKeys(name);
        if (options.CrossInstanceEvents)
        {
            _remote = new SessionRemoteEvents(Keys.RecordPrefix, RaiseRemote);
        }

        Scopes = new SessionScopes(store, provider, Keys);
        Provider = provider;
        _defaultState = defaultState ?? CreateDefault;
    }

    public event EventHandler<SessionEvent>? SessionChanged
    {
        add
        {
            _changed += value;
            if (_remote is not null && Interlocked.Exchange(ref _remoteStarted, 1) == 0)
            {
                RemoteEventsListening = ListenToOtherInstancesAsync();
            }
        }

        remove => _changed -= value;
    }

    /// <summary>Gets the name of this manager's part in a checkpoint of a session scope.</summary>
    public string PartName => "session:" + Name;

    protected IStateStore Store { get; }

    /// <summary>Writes a session record (with cross-instance events on, noting the version as this instance's own).</summary>
    protected ValueTask<long> SetRecordAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options, CancellationToken cancellationToken) =>
        _remote is null ? Store.SetAsync(key, value, options, cancellationToken) : _remote.SetAsync(Store, key, value, options, cancellationToken);

    /// <summary>Writes a batch holding session records (with cross-instance events on, noting their versions as this instance's own).</summary>
    protected ValueTask<IReadOnlyList<long>> SetRecordsAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken) =>
        _remote is null ? Store.SetManyAsync(writes, cancellationToken) : _remote.SetManyAsync(Store, writes, cancellationToken);

    /// <summary>Deletes a session record (with cross-instance events on, noting the delete as this instance's own).</summary>
    protected ValueTask<bool> DeleteRecordAsync(string key, long? expectedVersion, CancellationToken cancellationToken) =>
        _remote is null ? Store.DeleteAsync(key, expectedVersion, cancellationToken) : _remote.DeleteAsync(Store, key, expectedVersion, cancellationToken);

    protected StateValueCodec Codec { get; }

    protected SessionOptions Options { get; }

    protected TimeProvider Time { get; }

    protected ILogger Logger { get; }

    internal string Name { get; }

    /// <summary>Gets the start of the subscription to other instances' changes (tests wait for it instead of sleeping).</summary>
    internal Task RemoteEventsListening { get; private set; } = Task.CompletedTask;

    protected SessionKeys Keys { get; }

    protected SessionScopes Scopes { get; }

    /// <summary>Gets the state provider (session-scoped values and lists).</summary>
    protected IStateProvider Provider { get; }

    protected DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Gets how many sessions this instance tracks as live (for <see cref="GetStats"/>).</summary>
    protected virtual long Active => 0;

    public abstract ValueTask<Session<TSession>> CreateAsync(TSession? initialState = default, CancellationToken cancellationToken = default);

    public abstract ValueTask<Session<TSession>?> GetAsync(string sessionId, CancellationToken cancellationToken = default);

    public async ValueTask<Session<TSession>> GetOrCreateAsync(string? sessionId, CancellationToken cancellationToken = default)
    {
        if (sessionId is not null && (await GetAsync(sessionId, cancellationToken).ConfigureAwait(false)) is { } existing)
        {
            return existing;
        }

        if (sessionId is not null && Options.InvalidId == InvalidSessionIdBehavior.Throw)
        {
            throw new SessionNotFoundException(sessionId);
        }

        return await CreateAsync(default, cancellationToken).ConfigureAwait(false);
    }

    public abstract ValueTask<Session<TSession>> UpdateAsync(string sessionId, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default);

    public abstract ValueTask<Session<TSession>> UpdateAsync(Session<TSession> session, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default);

    public abstract ValueTask<Session<TSession>> UpdateAtVersionAsync(string sessionId, long expectedVersion, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default);

    public abstract ValueTask<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <inheritdoc />
    public virtual ValueTask<Session<TSession>> CopyAsync(string sessionId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"Copying a session needs per-session isolation; this manager's is {Options.Isolation}.");

    public abstract ValueTask<Session<TSession>> RegenerateIdAsync(string sessionId, CancellationToken cancellationToken = default);

    public abstract IAsyncEnumerable<string> ListActiveAsync(CancellationToken cancellationToken = default);

    public abstract ValueTask<int> CleanupExpiredAsync(CancellationToken cancellationToken = default);

    public SessionStats GetStats() =>
        new(Active, Count(SessionEventKind.Created), Count(SessionEventKind.Expired), Count(SessionEventKind.Evicted), Count(SessionEventKind.Deleted));

    /// <summary>The state of the live session that owns <paramref name="scope"/>, for a checkpoint of that scope.</summary>
    public async ValueTask<byte[]?> CaptureAsync(StateScope scope, CancellationToken cancellationToken)
    {
        return scope.Tier == StateTier.Session && await FindOwnerAsync(scope, cancellationToken).ConfigureAwait(false) is { } owner
            ? Codec.Encode(Decode(owner.Record).State)
            : null;
    }

    /// <summary>Puts a checkpoint's session state back into the live session that owns <paramref name="scope"/> (keeping its expiry).</summary>
    public async ValueTask<bool> RestoreAsync(StateScope scope, byte[] part, CancellationToken cancellationToken)
    {
        if (scope.Tier != StateTier.Session || await FindOwnerAsync(scope, cancellationToken).ConfigureAwait(false) is not { } owner)
        {
            return false;
        }

        var state = Codec.Decode<TSession>(part, PartName)!;
        await ConflictRetry.RunAsync(Options.MaxUpdateAttempts, Store.Name, "RestoreCheckpoint", Keys.Record(owner.Id), async () =>
        {
            var entry = await Store.GetAsync(Keys.Record(owner.Id), cancellationToken).ConfigureAwait(false) ?? throw new SessionNotFoundException(owner.Id);
            var bytes = Encoded(Decode(entry) with { State = state }).Bytes;
            return await SetRecordAsync(Keys.Record(owner.Id), bytes, new StateWriteOptions(entry.Version, StateTimeToLive.KeepCurrent), cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        Raise(SessionEventKind.Updated, owner.Id);
        return true;
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

    protected static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    protected static bool IsValidId(string? id) =>
        id is { Length: IdLength } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>The live session whose scope is <paramref name="scope"/>, or <see langword="null"/>.</summary>
    protected abstract ValueTask<(string Id, StateEntry Record)?> FindOwnerAsync(StateScope scope, CancellationToken cancellationToken);

    /// <summary>Called after a record was written at <paramref name="expiresAt"/> (the per-session manager tracks it).</summary>
    protected virtual void Written(string id, string scopeId, DateTimeOffset? expiresAt)
    {
    }

    /// <summary>Called after a record was deleted or found missing (the per-session manager stops tracking it).</summary>
    protected virtual void Forgotten(string id)
    {
    }

    public TSession CreateDefaultState() => _defaultState();

    protected TSession DefaultState() => _defaultState();

    protected Session<TSession>? Invalid(string? sessionId) =>
        Options.InvalidId == InvalidSessionIdBehavior.Throw ? throw new InvalidSessionIdException(sessionId) : null;

    protected (T State, byte[] Bytes) Encoded<T>(T state)
    {
        var bytes = Codec.Encode(state);
        return bytes.Length > Options.MaxStateBytes ? throw new SessionStateTooLargeException(bytes.Length, Options.MaxStateBytes) : (state, bytes);
    }

    /// <summary>
    /// Decodes a stored record; for an immutable session type (<see cref="ImmutableStateAttribute"/>) the record decoded
    /// from the same bytes before is reused (the bytes are compared in full), so a read of an unchanged session does no decode.
    /// </summary>
    protected SessionRecord Decode(StateEntry entry)
    {
        if (_decoded is { } cache && cache.TryGet(entry.Key, entry.Value.Span, out var known))
        {
            return known;
        }

        var record = Codec.Decode<SessionRecord>(entry.Value.Span, entry.Key) ?? throw new StateCorruptedException(Store.Name, "session read", entry.Key, "the session record is empty");
        _decoded?.Put(entry.Key, entry.Value, record);
        return record;
    }

    /// <summary>Remembers the record just written as <paramref name="bytes"/> (an immutable session type only), so the next read of it does no decode.</summary>
    protected void Wrote(string id, byte[] bytes, SessionRecord record) => _decoded?.Put(Keys.Record(id), bytes, record);

    protected Session<TSession> ToSession(string id, SessionRecord record, long version, DateTimeOffset? expiresAt, bool isNew) =>
        new(id, record.State, version, record.CreatedAt, expiresAt, StateScope.Session(record.ScopeId), isNew);

    /// <summary>
    /// Applies <paramref name="mutate"/> to a stored record at the version read (re-reading on a conflict), with the time
    /// to live <paramref name="timeToLive"/> gives for the record at that moment (<see langword="null"/>: no expiry).
    /// </summary>
    /// <remarks>
    /// With <paramref name="expectedVersion"/>, one attempt only: a record at another version is a
    /// <see cref="StateConflictException"/> (as is a write that loses a race after the read).
    /// </remarks>
    protected async ValueTask<Session<TSession>> UpdateRecordAsync(string id, Func<TSession, TSession> mutate, Func<SessionRecord, DateTimeOffset, TimeSpan?> timeToLive, long? expectedVersion, CancellationToken cancellationToken) =>
        expectedVersion is { } expected
            ? await UpdateRecordOnceAsync(id, mutate, timeToLive, expected, cancellationToken).ConfigureAwait(false)
            : await ConflictRetry.RunAsync(Options.MaxUpdateAttempts, Store.Name, "Update", Keys.Record(id), () => UpdateRecordOnceAsync(id, mutate, timeToLive, null, cancellationToken), cancellationToken).ConfigureAwait(false);

    private async ValueTask<Session<TSession>> UpdateRecordOnceAsync(string id, Func<TSession, TSession> mutate, Func<SessionRecord, DateTimeOffset, TimeSpan?> timeToLive, long? expectedVersion, CancellationToken cancellationToken)
    {
        var entry = await Store.GetAsync(Keys.Record(id), cancellationToken).ConfigureAwait(false) ?? throw new SessionNotFoundException(id);
        if (expectedVersion is { } expected && entry.Version != expected)
        {
            throw new StateConflictException(Store.Name, "Update", Keys.Record(id), expected, entry.Version);
        }

        return await WriteRecordAsync(id, Decode(entry), entry.Version, mutate, timeToLive, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies <paramref name="mutate"/> to a session the caller read, writing at its version without reading it again;
    /// only when that write conflicts (the session moved on) is it re-read and re-applied, as <see cref="UpdateRecordAsync"/> does.
    /// </summary>
    protected async ValueTask<Session<TSession>> UpdateReadRecordAsync(Session<TSession> session, Func<TSession, TSession> mutate, Func<SessionRecord, DateTimeOffset, TimeSpan?> timeToLive, CancellationToken cancellationToken)
    {
        try
        {
            var record = new SessionRecord(session.State, session.CreatedAt, session.Scope.OwnerId);
            return await WriteRecordAsync(session.Id, record, session.Version, mutate, timeToLive, cancellationToken).ConfigureAwait(false);
        }
        catch (StateConflictException)
        {
            return await UpdateRecordAsync(session.Id, mutate, timeToLive, null, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<Session<TSession>> WriteRecordAsync(string id, SessionRecord record, long version, Func<TSession, TSession> mutate, Func<SessionRecord, DateTimeOffset, TimeSpan?> timeToLive, CancellationToken cancellationToken)
    {
        var next = record with { State = mutate(record.State) };
        var bytes = Encoded(next).Bytes;
        var now = Now;
        var ttl = timeToLive(record, now);
        if (ttl <= TimeSpan.Zero)
        {
            throw new SessionNotFoundException(id);
        }

        var written = await SetRecordAsync(Keys.Record(id), bytes, new StateWriteOptions(version, ttl ?? Timeout.InfiniteTimeSpan), cancellationToken).ConfigureAwait(false);
        Wrote(id, bytes, next);
        var expiresAt = now + ttl;
        Written(id, record.ScopeId, expiresAt);
        Raise(SessionEventKind.Updated, id);
        return ToSession(id, next, written, expiresAt, isNew: false);
    }

    /// <summary>Deletes a stored record and its scope.</summary>
    protected async ValueTask<bool> DeleteRecordAsync(string id, CancellationToken cancellationToken)
    {
        var entry = await Store.GetAsync(Keys.Record(id), cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            Forgotten(id);
            return false;
        }

        var deleted = await DeleteRecordAsync(Keys.Record(id), null, cancellationToken).ConfigureAwait(false);
        await Scopes.EndAsync(Decode(entry).ScopeId, cancellationToken).ConfigureAwait(false);
        Forgotten(id);
        if (deleted)
        {
            Raise(SessionEventKind.Deleted, id);
        }

        return deleted;
    }

    /// <summary>Counts the event in the statistics (unless told not to) and raises <see cref="SessionChanged"/>.</summary>
    protected void Raise(SessionEventKind kind, string id, bool count = true)
    {
        if (count)
        {
            Interlocked.Increment(ref _counts[(int)kind]);
        }

        _changed?.Invoke(this, new SessionEvent(kind, id, Now));
    }

    private void RaiseRemote(SessionEventKind kind, string id) =>
        _changed?.Invoke(this, new SessionEvent(kind, id, Now) { FromOtherInstance = true });

    /// <summary>Subscribes to the store's change feed for other instances' changes (<see cref="SessionOptions.CrossInstanceEvents"/>).</summary>
    private async Task ListenToOtherInstancesAsync()
    {
        if (Store.GetService<IStateChangeFeed>() is not { } feed)
        {
            Logger.LogWarning("SessionOptions.CrossInstanceEvents is on, but the '{Store}' store has no change feed: only this instance's changes are reported.", Store.Name);
            return;
        }

        // A failed subscription (the server busy or away for a moment) is tried again in the background until it works:
        // before, it waited for the next SessionChanged handler, so other instances' changes could go unreported for good
        // (looked for after a CI run in which one instance never saw another's update; SessionRemoteEventsRaceTests).
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                _remoteSubscription = await feed.SubscribeAsync(Keys.RecordPrefix, (change, _) =>
                {
                    if (_remote!.Classify(change) is { } kind)
                    {
                        RaiseRemote(kind, change.Key[Keys.RecordPrefix.Length..]);
                    }

                    return ValueTask.CompletedTask;
                }).ConfigureAwait(false);
                return;
            }
            catch (StateStoreException ex)
            {
                Logger.LogWarning(ex, "Could not subscribe to other instances' session changes; trying again in {Delay}.", delay);
            }
            catch (ObjectDisposedException)
            {
                return; // the store was disposed: nothing to listen to
            }

            await Task.Delay(delay).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
        }
    }

    private long Count(SessionEventKind kind) => Interlocked.Read(ref _counts[(int)kind]);

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

    /// <summary>What is stored for a session.</summary>
    /// <param name="State">The state.</param>
    /// <param name="CreatedAt">When it was created (for the absolute timeout).</param>
    /// <param name="ScopeId">The id of its provider scope; stays when the session id is regenerated.</param>
    internal sealed record SessionRecord(TSession State, DateTimeOffset CreatedAt, string ScopeId) : IStateVersionCarrier<TSession>;
}
