namespace StateKit;

/// <summary>
/// Sessions with typed state: create, read, update with optimistic retry, delete, regenerate the id, list,
/// clean up; idle and absolute timeouts; isolation modes; limits; events. Register with
/// <c>services.AddStateKit().AddSessions&lt;TSession&gt;(…)</c>.
/// </summary>
/// <typeparam name="TSession">The session state type.</typeparam>
public interface ISessionManager<TSession>
{
    /// <summary>Raised after a session is created, updated, expired, evicted or deleted.</summary>
    event EventHandler<SessionEvent>? SessionChanged;

    /// <summary>Creates a session with a new id.</summary>
    /// <param name="initialState">The state; the default state when <see langword="null"/>.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The new session.</returns>
    ValueTask<Session<TSession>> CreateAsync(TSession? initialState = default, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates the state a new session starts with (the <c>defaultState</c> given to <c>AddSessions</c>, or the
    /// parameterless constructor), storing nothing: for callers that create a session only once it has something to keep.
    /// </summary>
    /// <returns>A new default state.</returns>
    TSession CreateDefaultState();

    /// <summary>Reads a live session (and extends it when enough of the idle timeout has passed).</summary>
    /// <param name="sessionId">The id.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The session, or <see langword="null"/> when unknown or expired (or, with <see cref="InvalidSessionIdBehavior.CreateNew"/>, malformed).</returns>
    ValueTask<Session<TSession>?> GetAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Reads a live session, or creates one when the id is missing, malformed, unknown or expired (see <see cref="SessionOptions.InvalidId"/>).</summary>
    /// <param name="sessionId">The id from the caller, if any.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The session; <see cref="Session{TSession}.IsNew"/> tells whether it was created.</returns>
    ValueTask<Session<TSession>> GetOrCreateAsync(string? sessionId, CancellationToken cancellationToken = default);

    /// <summary>Applies <paramref name="mutate"/> to the current state and stores the result; re-reads and re-applies on a conflict.</summary>
    /// <param name="sessionId">The id.</param>
    /// <param name="mutate">Computes the new state; may run more than once.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The updated session.</returns>
    /// <exception cref="SessionNotFoundException">There is no live session with this id.</exception>
    ValueTask<Session<TSession>> UpdateAsync(string sessionId, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies <paramref name="mutate"/> to a session the caller has just read and stores the result at its version,
    /// without reading it again: one write when nobody changed it meanwhile. When somebody did, the session is re-read
    /// and <paramref name="mutate"/> re-applied, as <see cref="UpdateAsync(string, Func{TSession, TSession}, CancellationToken)"/> does.
    /// </summary>
    /// <param name="session">The session as read (from <see cref="GetAsync"/>, <see cref="GetOrCreateAsync"/> or an earlier update).</param>
    /// <param name="mutate">Computes the new state; may run more than once. It is given <paramref name="session"/>'s state first, so a mutator that changes its argument in place changes that object too.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The updated session.</returns>
    /// <exception cref="SessionNotFoundException">The session ended (expired or deleted).</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in their first parameter's type (an id or a session read).")]
    ValueTask<Session<TSession>> UpdateAsync(Session<TSession> session, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies <paramref name="mutate"/> once to the state at <paramref name="expectedVersion"/> and stores the result; when
    /// the session has moved on (another request changed it), nothing is written and a conflict is raised. For callers
    /// that read a version earlier (an HTTP request, an If-Match header) and must not overwrite a change they have not seen.
    /// </summary>
    /// <param name="sessionId">The id.</param>
    /// <param name="mutate">Computes the new state.</param>
    /// <param name="expectedVersion">The version the caller read (<see cref="Session{TSession}.Version"/>).</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The updated session.</returns>
    /// <exception cref="SessionNotFoundException">There is no live session with this id.</exception>
    /// <exception cref="StateConflictException">The session is not at <paramref name="expectedVersion"/>; <see cref="StateConflictException.CurrentVersion"/> says where it is.</exception>
    ValueTask<Session<TSession>> UpdateAtVersionAsync(string sessionId, long expectedVersion, Func<TSession, TSession> mutate, CancellationToken cancellationToken = default);

    /// <summary>
    /// Copies a session to a new id: a new session with the same state, whose scope gets a copy of the original's
    /// session-scoped values and lists (<see cref="IStateProvider.ForkAsync"/>); the original is untouched. The copy
    /// starts its own idle and absolute timeouts.
    /// </summary>
    /// <param name="sessionId">The session to copy.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The new session.</returns>
    /// <exception cref="SessionNotFoundException">There is no live session with that id.</exception>
    /// <exception cref="NotSupportedException">The manager's isolation is global or stateless (there is one session, or none is kept).</exception>
    ValueTask<Session<TSession>> CopyAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Deletes a session with its session-scoped provider state and lists.</summary>
    /// <param name="sessionId">The id.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>Whether a live session was deleted.</returns>
    ValueTask<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Gives a session a new id (against session fixation): same state and scope, and the old id is dead at once.</summary>
    /// <param name="sessionId">The current id.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The session under its new id.</returns>
    /// <exception cref="SessionNotFoundException">There is no live session with this id.</exception>
    ValueTask<Session<TSession>> RegenerateIdAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Streams the ids of live sessions.</summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The ids.</returns>
    IAsyncEnumerable<string> ListActiveAsync(CancellationToken cancellationToken = default);

    /// <summary>Removes the data of sessions that expired; its cost grows with the number of expired sessions, not live ones.</summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>How many sessions were found expired.</returns>
    ValueTask<int> CleanupExpiredAsync(CancellationToken cancellationToken = default);

    /// <summary>Gets the counters.</summary>
    /// <returns>The counters.</returns>
    SessionStats GetStats();
}
