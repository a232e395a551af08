using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.DependencyInjection;
using StateKit.AspNetCore.Internal;

namespace StateKit.AspNetCore;

/// <summary>
/// One request's view of its <see cref="ISessionManager{TSession}"/> session: the id comes from a cookie or a header
/// (<see cref="HttpSessionOptions"/>), <see cref="State"/> is read once, <see cref="Update"/> changes it locally, and the
/// changes are saved once, before the response starts, with the version read at the start of the request
/// (see <see cref="HttpSessionOptions.Conflict"/>). Take it as a minimal-API parameter, or call
/// <see cref="HttpContextSessionExtensions.GetSessionAsync{TSession}(HttpContext, CancellationToken)"/>.
/// </summary>
/// <remarks>
/// <para>
/// Lazy: a request without a session that never calls <see cref="Update"/> (or <see cref="CommitAsync"/>) stores nothing
/// and sets no cookie. An id that is malformed, tampered with, unknown or expired is handled by the session type's
/// <see cref="SessionOptions.InvalidId"/>: a new (not yet stored) session, or <see cref="InvalidSessionIdException"/> /
/// <see cref="SessionNotFoundException"/> (400 / 404 with <c>AddStateKitProblemDetails</c>).
/// </para>
/// <para>
/// In a minimal-API endpoint that takes this parameter, the save runs after the handler returns and before its result
/// is written, so a failed save becomes the endpoint's answer (409, 404, 413, 503 as ProblemDetails); a handler that
/// throws saves nothing. Elsewhere (controllers, middleware) the save runs when the response starts; call
/// <see cref="CommitAsync"/> before writing the body to handle a failed save yourself. Not thread-safe, like
/// <see cref="HttpContext"/>.
/// </para>
/// </remarks>
/// <typeparam name="TSession">The session state type (registered with <c>AddSessions&lt;TSession&gt;()</c>).</typeparam>
public sealed class SessionContext<TSession> : IEndpointParameterMetadataProvider
{
    private readonly HttpContext _http;
    private readonly ISessionManager<TSession> _manager;
    private readonly HttpSessionSettings _settings;
    private readonly List<Func<TSession, TSession>> _pending = [];
    private Session<TSession>? _session;
    private bool _presentedId;

    private SessionContext(HttpContext http, ISessionManager<TSession> manager, HttpSessionSettings settings, Session<TSession>? session, bool presentedId)
    {
        _http = http;
        _manager = manager;
        _settings = settings;
        _session = session;
        _presentedId = presentedId;
        State = session is null ? manager.CreateDefaultState() : session.State;
    }

    /// <summary>Gets the session id; <see langword="null"/> while the session is new and not stored.</summary>
    public string? Id => _session?.Id;

    /// <summary>Gets the state, with this request's <see cref="Update"/>s applied.</summary>
    public TSession State { get; private set; }

    /// <summary>Gets the stored version this request read (or last saved); 0 while the session is not stored.</summary>
    public long Version => _session?.Version ?? 0;

    /// <summary>Gets a value indicating whether the session is not stored yet (the request brought no live session).</summary>
    public bool IsNew => _session is null;

    /// <summary>Gets a value indicating whether <see cref="Update"/> was called since the last save.</summary>
    public bool HasChanges => _pending.Count > 0;

    /// <summary>Gets the provider scope of the session's other state and lists; <see langword="null"/> while not stored (<see cref="CommitAsync"/> stores it).</summary>
    public StateScope? Scope => _session?.Scope;

    /// <summary>Gets the session as last read or saved; <see langword="null"/> while not stored.</summary>
    public Session<TSession>? Session => _session;

    /// <summary>
    /// Changes the state: <paramref name="mutate"/> runs now on <see cref="State"/>, and again on the stored state when
    /// the save finds that another request changed the session meanwhile (<see cref="HttpSessionConflictBehavior.Retry"/>),
    /// so it must compute the new state from the one it is given.
    /// </summary>
    /// <param name="mutate">Computes the new state from the current one.</param>
    public void Update(Func<TSession, TSession> mutate)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        State = mutate(State);
        _pending.Add(mutate);
    }

    /// <summary>
    /// Saves now: creates the session when it is new (even without changes: then it has an <see cref="Id"/> and a
    /// <see cref="Scope"/>) and sets the cookie, or stores this request's changes. Called for you when the request ends.
    /// </summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The stored session.</returns>
    /// <exception cref="StateConflictException">With <see cref="HttpSessionConflictBehavior.Fail"/>: another request changed the session; nothing was saved.</exception>
    /// <exception cref="SessionNotFoundException">The session ended (expired or deleted) during the request.</exception>
    /// <exception cref="InvalidOperationException">The session is new and the response has started, so its id could no longer reach the client.</exception>
    public async ValueTask<Session<TSession>> CommitAsync(CancellationToken cancellationToken = default)
    {
        if (_session is null)
        {
            if (_http.Response.HasStarted)
            {
                throw new InvalidOperationException("The response has started, so a new session's id can no longer be sent: save the session (CommitAsync) before writing the response body.");
            }

            _session = await _manager.CreateAsync(State, cancellationToken).ConfigureAwait(false);
            _pending.Clear();
            State = _session.State;
            WriteId();
            return _session;
        }

        if (_pending.Count == 0)
        {
            return _session;
        }

        var mutators = _pending.ToArray();
        TSession Apply(TSession state)
        {
            foreach (var mutate in mutators)
            {
                state = mutate(state);
            }

            return state;
        }

        if (_settings.Options.Conflict == HttpSessionConflictBehavior.Fail)
        {
            _session = await _manager.UpdateAtVersionAsync(_session.Id, _session.Version, Apply, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // One write at the version this request read (no second read): given the state this request read, the
            // save stores the state Update already computed from it (a mutator that changed it in place must not run on
            // it twice); given any other state (another request changed the session meanwhile and it was re-read, or
            // the manager starts from its own), every mutator is applied to that state.
            var read = _session.State;
            var computed = State;
            _session = await _manager.UpdateAsync(_session, state => ReferenceEquals(state, read) ? computed : Apply(state), cancellationToken).ConfigureAwait(false);
        }

        _pending.Clear();
        State = _session.State;
        return _session;
    }

    /// <summary>
    /// Gives the session a new id (after sign-in, against session fixation): saves pending changes, moves the state to a
    /// new id, kills the old one and rewrites the cookie. A new session is simply stored (its id is new anyway).
    /// </summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>A task that completes when the id is changed.</returns>
    /// <exception cref="InvalidOperationException">The response has started, so the new id could no longer reach the client.</exception>
    public async ValueTask RegenerateIdAsync(CancellationToken cancellationToken = default)
    {
        if (_http.Response.HasStarted)
        {
            throw new InvalidOperationException("The response has started, so a new session id can no longer be sent: regenerate the id before writing the response body.");
        }

        var wasNew = _session is null;
        var session = await CommitAsync(cancellationToken).ConfigureAwait(false);
        if (!wasNew)
        {
            _session = await _manager.RegenerateIdAsync(session.Id, cancellationToken).ConfigureAwait(false);
            State = _session.State;
            WriteId();
        }
    }

    /// <summary>
    /// Ends this session and starts a new one in its place: a new id, the default state, and nothing of the old session's
    /// state or session-scoped data (lists, conversation history) carried over. Use it at sign-in when nothing from before
    /// may survive it: with <see cref="RegenerateIdAsync"/> (which keeps the state), an attacker who planted a session
    /// id in the victim's browser beforehand (session fixation, for example from a sibling subdomain) would still find
    /// the state it planted — chat messages, prompt-injection text — in the signed-in session.
    /// </summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>A task that completes when the new session is stored (its id set on the response).</returns>
    /// <exception cref="InvalidOperationException">The response has started, so the new id could no longer reach the client.</exception>
    public async ValueTask StartNewAsync(CancellationToken cancellationToken = default)
    {
        if (_http.Response.HasStarted)
        {
            throw new InvalidOperationException("The response has started, so a new session id can no longer be sent: start the new session before writing the response body.");
        }

        await AbandonAsync(cancellationToken).ConfigureAwait(false);
        await CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends the session (sign-out): deletes it with its session-scoped state and lists, drops pending changes and deletes
    /// the cookie. The request then continues with a new, unstored session.
    /// </summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>A task that completes when the session is deleted.</returns>
    public async ValueTask AbandonAsync(CancellationToken cancellationToken = default)
    {
        if (_session is { } session)
        {
            await _manager.DeleteAsync(session.Id, cancellationToken).ConfigureAwait(false);
            _presentedId = true;
        }

        _session = null;
        _pending.Clear();
        State = _manager.CreateDefaultState();
        if (!_http.Response.HasStarted)
        {
            ForgetId();
        }
    }

    /// <summary>Binds the parameter of a minimal-API endpoint: the request's session context.</summary>
    /// <param name="context">The request.</param>
    /// <returns>The session context.</returns>
    public static async ValueTask<SessionContext<TSession>?> BindAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return await GetAsync(context, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Adds the endpoint filter that saves the session after the handler and before its result is written.</summary>
    /// <param name="parameter">The parameter.</param>
    /// <param name="builder">The endpoint.</param>
    static void IEndpointParameterMetadataProvider.PopulateMetadata(ParameterInfo parameter, EndpointBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Metadata.OfType<SessionCommitFilter<TSession>>().Any())
        {
            return;
        }

        var filter = new SessionCommitFilter<TSession>();
        builder.Metadata.Add(filter);
        builder.FilterFactories.Add((_, next) => invocation => filter.InvokeAsync(invocation, next));
    }

    /// <summary>Gets (reading it on first use) the request's session context.</summary>
    internal static ValueTask<SessionContext<TSession>> GetAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var existing = http.Features.Get<SessionContext<TSession>>();
        return existing is not null ? ValueTask.FromResult(existing) : LoadAsync(http, cancellationToken);
    }

    /// <summary>Drops pending changes: the request failed.</summary>
    internal void Discard() => _pending.Clear();

    private static async ValueTask<SessionContext<TSession>> LoadAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var services = http.RequestServices;
        var manager = services.GetService<ISessionManager<TSession>>()
            ?? throw new InvalidOperationException($"No ISessionManager<{typeof(TSession).Name}> is registered: call services.AddStateKit().AddSessions<{typeof(TSession).Name}>().");
        var settings = HttpSessionSettings.For<TSession>(services);
        var id = settings.ReadId(http.Request);
        Session<TSession>? session = null;
        if (id is not null)
        {
            session = await manager.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (session is null && settings.InvalidId == InvalidSessionIdBehavior.Throw)
            {
                throw new SessionNotFoundException(id);
            }
        }

        var context = new SessionContext<TSession>(http, manager, settings, session, presentedId: id is not null);
        http.Features.Set(context);
        http.Response.OnStarting(static state => ((SessionContext<TSession>)state).OnStartingAsync(), context);
        return context;
    }

    private async Task OnStartingAsync()
    {
        if (_http.Features.Get<IExceptionHandlerFeature>() is not null)
        {
            _pending.Clear(); // the request failed: its changes are not saved
        }

        if (_pending.Count > 0)
        {
            await CommitAsync(_http.RequestAborted).ConfigureAwait(false);
        }

        if (_session is null)
        {
            if (_presentedId && _settings.HasCookie(_http.Request))
            {
                ForgetId(); // a dead id in the cookie: the client stops sending it
            }
        }
        else if (_settings.EchoesHeader)
        {
            _http.Response.Headers[_settings.Options.HeaderName] = _session.Id;
        }
    }

    private void WriteId()
    {
        if (_session is null)
        {
            return;
        }

        _settings.WriteCookie(_http, _session.Id);
        if (_settings.EchoesHeader)
        {
            _http.Response.Headers[_settings.Options.HeaderName] = _session.Id;
        }
    }

    private void ForgetId()
    {
        _settings.DeleteCookie(_http);
        _presentedId = false;
        if (_settings.EchoesHeader)
        {
            _http.Response.Headers.Remove(_settings.Options.HeaderName);
        }
    }
}
