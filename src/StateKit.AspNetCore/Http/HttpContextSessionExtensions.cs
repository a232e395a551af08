using Microsoft.AspNetCore.Http;

namespace StateKit.AspNetCore;

/// <summary>Per-request session access for code that is not a minimal-API handler (controllers, middleware, Razor).</summary>
public static class HttpContextSessionExtensions
{
    /// <summary>
    /// Gets the request's <see cref="SessionContext{TSession}"/>, reading the session on first use (one store read when
    /// the request carries an id, none otherwise). Its changes are saved when the response starts.
    /// </summary>
    /// <typeparam name="TSession">The session state type.</typeparam>
    /// <param name="context">The request.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The session context (the same one for the whole request).</returns>
    public static ValueTask<SessionContext<TSession>> GetSessionAsync<TSession>(this HttpContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        return SessionContext<TSession>.GetAsync(context, cancellationToken);
    }
}
