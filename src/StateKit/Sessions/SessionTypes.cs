using System.ComponentModel.DataAnnotations;

namespace StateKit;

/// <summary>How sessions share state.</summary>
public enum SessionIsolation
{
    /// <summary>Every call gets a fresh default state; nothing is stored.</summary>
    Stateless,

    /// <summary>Each session has its own state (the default).</summary>
    PerSession,

    /// <summary>All sessions share one state.</summary>
    Global,
}

/// <summary>What happens when a caller presents a session id that is malformed, unknown or expired.</summary>
public enum InvalidSessionIdBehavior
{
    /// <summary><c>GetOrCreateAsync</c> starts a new session (with a new id); <c>GetAsync</c> returns <see langword="null"/>.</summary>
    CreateNew,

    /// <summary>Throw <see cref="InvalidSessionIdException"/> (malformed) or <see cref="SessionNotFoundException"/> (unknown or expired).</summary>
    Throw,
}

/// <summary>Options of <c>ISessionManager&lt;TSession&gt;</c>, named after the session type.</summary>
public sealed class SessionOptions
{
    /// <summary>
    /// Gets or sets the name under which this session type's records are stored (<c>sessions/{Name}/{id}</c>). Two
    /// session types registered with one name would share records, so a second one is refused when resolved.
    /// </summary>
    /// <value>
    /// The default value is <see langword="null"/>: the type's full name (namespace, name and type arguments). Renaming
    /// or moving the type then starts a new, empty set of sessions: set a name to keep sessions across such a rename.
    /// </value>
    public string? Name { get; set; }

    /// <summary>Gets or sets the sliding timeout: a session not used for this long expires (default 20 minutes).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Gets or sets the absolute timeout from creation, however active the session is; <see langword="null"/> = none (default 24 hours).</summary>
    public TimeSpan? AbsoluteTimeout { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Gets or sets the fraction of <see cref="IdleTimeout"/> that must pass since the last refresh before a read
    /// extends the session (default 0.25): reads in between do not write to the store at all.
    /// </summary>
    [Range(0.0, 1.0)]
    public double RefreshAfterFraction { get; set; } = 0.25;

    /// <summary>Gets or sets the isolation mode (default per session).</summary>
    public SessionIsolation Isolation { get; set; } = SessionIsolation.PerSession;

    /// <summary>Gets or sets what an invalid, unknown or expired id from outside leads to (default: a new session).</summary>
    public InvalidSessionIdBehavior InvalidId { get; set; } = InvalidSessionIdBehavior.CreateNew;

    /// <summary>
    /// Gets or sets the most live sessions this instance keeps; 0 = no limit (default). What creating one more does is
    /// <see cref="LimitBehavior"/>'s choice.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int MaxSessions { get; set; }

    /// <summary>
    /// Gets or sets what creating a session past <see cref="MaxSessions"/> does: evict one (sessions never used after the
    /// request that created them first, then the least recently used; raising <see cref="SessionEventKind.Evicted"/>),
    /// or refuse the new one with <see cref="SessionLimitExceededException"/> (HTTP 429 with Retry-After through the
    /// ProblemDetails mapping), so a flood of new sessions can never push out a session in use.
    /// </summary>
    /// <value>The default value is <see cref="SessionLimitBehavior.Evict"/>.</value>
    public SessionLimitBehavior LimitBehavior { get; set; } = SessionLimitBehavior.Evict;

    /// <summary>Gets or sets the largest encoded session state in bytes (default 1 MiB); larger states are refused and nothing is stored.</summary>
    [Range(1, int.MaxValue)]
    public int MaxStateBytes { get; set; } = 1024 * 1024;

    /// <summary>Gets or sets how often the hosted cleanup runs (default 1 minute).</summary>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Gets or sets how often the cleanup also sweeps the store for session scopes whose sessions all ended while no
    /// instance was tracking them (after a restart or a crash); such a scope is cleared on the second sweep that finds
    /// it unchanged. <see cref="TimeSpan.Zero"/> turns the sweep off (default 10 minutes). Each sweep reads every scope
    /// owner entry and session record of this session type once; it is started by the first cleanup pass after the
    /// interval and runs beside it (a failure is logged), so a cleanup pass itself costs only what has expired.
    /// </summary>
    public TimeSpan OrphanSweepInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Gets or sets a value indicating whether <c>SessionChanged</c> also reports changes other instances make (created,
    /// updated, deleted), through the store's change feed (default <see langword="false"/>). Those events have
    /// <see cref="SessionEvent.FromOtherInstance"/> set and do not count in this instance's statistics. Delivery is at least
    /// once; an idle refresh by another instance may be reported as an update to an instance that had not seen the session.
    /// A store without a change feed reports nothing from elsewhere.
    /// </summary>
    public bool CrossInstanceEvents { get; set; }

    /// <summary>Gets or sets how many times an update re-reads and re-applies after a conflict (default 100).</summary>
    [Range(1, 10_000)]
    public int MaxUpdateAttempts { get; set; } = 100;
}

/// <summary>A session as read from <c>ISessionManager&lt;TSession&gt;</c>.</summary>
/// <typeparam name="TSession">The state type.</typeparam>
/// <param name="Id">The session id (URL-safe, 22 characters).</param>
/// <param name="State">The state.</param>
/// <param name="Version">The state's version, for optimistic concurrency.</param>
/// <param name="CreatedAt">When the session was created.</param>
/// <param name="ExpiresAt">When it expires unless used again (idle or absolute timeout, whichever is first).</param>
/// <param name="Scope">The provider scope of this session's other state and lists; removed with the session.</param>
/// <param name="IsNew">Whether this call created the session.</param>
public sealed record Session<TSession>(string Id, TSession State, long Version, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, StateScope Scope, bool IsNew);

/// <summary>What happened to a session.</summary>
public enum SessionEventKind
{
    /// <summary>Created.</summary>
    Created,

    /// <summary>Its state was updated.</summary>
    Updated,

    /// <summary>It expired (found by cleanup).</summary>
    Expired,

    /// <summary>It was evicted to stay within <see cref="SessionOptions.MaxSessions"/>.</summary>
    Evicted,

    /// <summary>It was deleted (or its id was regenerated: the old id is deleted).</summary>
    Deleted,
}

/// <summary>A session event.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="SessionId">The session id.</param>
/// <param name="Time">When.</param>
public sealed record SessionEvent(SessionEventKind Kind, string SessionId, DateTimeOffset Time)
{
    /// <summary>Gets a value indicating whether another instance made this change (see <see cref="SessionOptions.CrossInstanceEvents"/>).</summary>
    public bool FromOtherInstance { get; init; }
}

/// <summary>Session counters since the manager started (this instance).</summary>
/// <param name="Active">Live sessions this instance knows.</param>
/// <param name="Created">Sessions created.</param>
/// <param name="Expired">Sessions found expired by cleanup.</param>
/// <param name="Evicted">Sessions evicted by the limit.</param>
/// <param name="Deleted">Sessions deleted.</param>
public sealed record SessionStats(long Active, long Created, long Expired, long Evicted, long Deleted);


/// <summary>What creating a session past <see cref="SessionOptions.MaxSessions"/> does.</summary>
public enum SessionLimitBehavior
{
    /// <summary>Evict one: sessions never used after their first request first, then the least recently used.</summary>
    Evict,

    /// <summary>Refuse the new session with <see cref="SessionLimitExceededException"/>; no live session is touched.</summary>
    Refuse,
}
