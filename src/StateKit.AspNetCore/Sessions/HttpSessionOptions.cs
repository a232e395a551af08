using Microsoft.AspNetCore.Http;

namespace StateKit.AspNetCore;

/// <summary>
/// How <see cref="SessionContext{TSession}"/> finds a request's session id and hands it back: a cookie and/or a header.
/// Bound from <c>Sessions:Http</c> under StateKit's configuration section (<c>StateKit:Sessions:Http</c>, or under the
/// section given to <c>AddStateKit(configuration)</c>).
/// </summary>
public sealed class HttpSessionOptions
{
    /// <summary>The path under StateKit's configuration section that the options are bound from.</summary>
    public const string SectionPath = "Sessions:Http";

    /// <summary>Gets or sets a value indicating whether the id is read from and written to a cookie (default <see langword="true"/>).</summary>
    public bool UseCookie { get; set; } = true;

    /// <summary>Gets or sets the cookie name (default <c>statekit.session</c>).</summary>
    public string CookieName { get; set; } = "statekit.session";

    /// <summary>Gets or sets the cookie path (default <c>/</c>).</summary>
    public string CookiePath { get; set; } = "/";

    /// <summary>Gets or sets the cookie domain; <see langword="null"/> (the default) = the request's host only.</summary>
    public string? CookieDomain { get; set; }

    /// <summary>Gets or sets the cookie's SameSite mode (default <see cref="SameSiteMode.Lax"/>).</summary>
    public SameSiteMode CookieSameSite { get; set; } = SameSiteMode.Lax;

    /// <summary>
    /// Gets or sets when the cookie is marked Secure. Unless set, it is <see cref="CookieSecurePolicy.Always"/> outside
    /// the Development environment, so the flag survives a TLS-terminating proxy whose requests reach the app over plain
    /// HTTP (or configure forwarded headers, <c>app.UseForwardedHeaders()</c>, so that <c>Request.IsHttps</c> is right),
    /// and <see cref="CookieSecurePolicy.SameAsRequest"/> in Development. The cookie is always HttpOnly.
    /// </summary>
    /// <value>The default value is <see cref="CookieSecurePolicy.Always"/> outside Development, <see cref="CookieSecurePolicy.SameAsRequest"/> in it.</value>
    public CookieSecurePolicy CookieSecurePolicy
    {
        get => _cookieSecurePolicy ?? CookieSecurePolicy.Always;
        set => _cookieSecurePolicy = value;
    }

    /// <summary>Gets the policy set in code or configuration; <see langword="null"/> when the environment decides.</summary>
    internal CookieSecurePolicy? ChosenCookieSecurePolicy => _cookieSecurePolicy;

    private CookieSecurePolicy? _cookieSecurePolicy;

    /// <summary>
    /// Gets or sets the cookie's Max-Age; <see langword="null"/> (the default) makes it a browser-session cookie. The
    /// session itself still ends by its own idle and absolute timeouts.
    /// </summary>
    public TimeSpan? CookieMaxAge { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether the cookie value is the id protected with ASP.NET Core Data Protection
    /// (default <see langword="false"/>), as ASP.NET Core's own session cookie is. A cookie that does not unprotect is an
    /// invalid id. Every instance must share the Data Protection key ring (as for ASP.NET Core's session).
    /// </summary>
    public bool ProtectCookie { get; set; }

    /// <summary>Gets or sets a value indicating whether the id is read from a request header (default <see langword="true"/>); the header wins over the cookie.</summary>
    public bool UseHeader { get; set; } = true;

    /// <summary>Gets or sets the header name (default <c>X-Session-Id</c>).</summary>
    public string HeaderName { get; set; } = "X-Session-Id";

    /// <summary>
    /// Gets or sets a value indicating whether a response carries the id in the header <see cref="HeaderName"/> whenever
    /// the request has a stored session (with <see cref="UseHeader"/>). For API clients only: any script on a page can
    /// read a response header, so with browser clients the id would no longer be protected by the HttpOnly cookie.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool EchoHeader { get; set; }

    /// <summary>Gets or sets what happens when another request changed the session between this request's read and its save (default: re-apply).</summary>
    public HttpSessionConflictBehavior Conflict { get; set; } = HttpSessionConflictBehavior.Retry;
}

/// <summary>What a request's save does when another request changed the session after this one read it.</summary>
public enum HttpSessionConflictBehavior
{
    /// <summary>Re-read the session and re-apply this request's <see cref="SessionContext{TSession}.Update"/> mutators to it (they may run more than once).</summary>
    Retry,

    /// <summary>
    /// Save nothing and fail: a minimal-API endpoint answers 409 (ProblemDetails with the current version), and
    /// <see cref="SessionContext{TSession}.CommitAsync"/> throws <see cref="StateConflictException"/>.
    /// </summary>
    Fail,
}
