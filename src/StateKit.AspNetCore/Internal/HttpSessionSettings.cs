using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace StateKit.AspNetCore.Internal;

/// <summary>The resolved HTTP options of one session type: how its id is read from a request and written to a response.</summary>
internal sealed class HttpSessionSettings
{
    /// <summary>The Data Protection purpose of protected session cookies.</summary>
    public const string ProtectorPurpose = "StateKit.AspNetCore.SessionCookie.v1";

    private readonly IDataProtector? _protector;

    public HttpSessionSettings(HttpSessionOptions options, InvalidSessionIdBehavior invalidId, IDataProtectionProvider? protection, bool isDevelopment = false)
    {
        Options = options;
        InvalidId = invalidId;
        SecurePolicy = options.ChosenCookieSecurePolicy ?? (isDevelopment ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always);
        if (options.ProtectCookie)
        {
            _protector = (protection ?? throw new InvalidOperationException("HttpSessionOptions.ProtectCookie needs ASP.NET Core Data Protection: call services.AddDataProtection().")).CreateProtector(ProtectorPurpose);
        }
    }

    public HttpSessionOptions Options { get; }

    public InvalidSessionIdBehavior InvalidId { get; }

    /// <summary>Gets when the cookie is Secure: the options' choice, else by environment (see <see cref="HttpSessionOptions.CookieSecurePolicy"/>).</summary>
    public CookieSecurePolicy SecurePolicy { get; }

    public bool EchoesHeader => Options.UseHeader && Options.EchoHeader;

    /// <summary>Gets the settings of <typeparamref name="TSession"/>, registered by <c>AddHttpSessions</c>.</summary>
    public static HttpSessionSettings For<TSession>(IServiceProvider services) =>
        services.GetService<HttpSessionSettingsFor<TSession>>()?.Value
        ?? throw new InvalidOperationException($"HTTP sessions of {typeof(TSession).Name} are not registered: call services.AddStateKit().AddSessions<{typeof(TSession).Name}>().AddHttpSessions<{typeof(TSession).Name}>().");

    /// <summary>Reads the id a request presents: the header first, then the cookie. A cookie that does not unprotect is the empty (invalid) id.</summary>
    public string? ReadId(HttpRequest request)
    {
        if (Options.UseHeader && request.Headers.TryGetValue(Options.HeaderName, out var header) && header.Count > 0)
        {
            return header.Count == 1 ? header[0] ?? string.Empty : string.Empty;
        }

        if (Options.UseCookie && request.Cookies.TryGetValue(Options.CookieName, out var cookie))
        {
            if (_protector is null)
            {
                return cookie;
            }

            try
            {
                return _protector.Unprotect(cookie);
            }
            catch (CryptographicException)
            {
                return string.Empty; // tampered with, or from another key ring
            }
        }

        return null;
    }

    public bool HasCookie(HttpRequest request) => Options.UseCookie && request.Cookies.ContainsKey(Options.CookieName);

    public void WriteCookie(HttpContext http, string id)
    {
        if (Options.UseCookie)
        {
            http.Response.Cookies.Append(Options.CookieName, _protector?.Protect(id) ?? id, CookieOptions(http));
        }
    }

    public void DeleteCookie(HttpContext http)
    {
        if (Options.UseCookie)
        {
            http.Response.Cookies.Delete(Options.CookieName, CookieOptions(http));
        }
    }

    private CookieOptions CookieOptions(HttpContext http) => new()
    {
        HttpOnly = true,
        Secure = SecurePolicy switch
        {
            CookieSecurePolicy.Always => true,
            CookieSecurePolicy.None => false,
            _ => http.Request.IsHttps,
        },
        SameSite = Options.CookieSameSite,
        Path = Options.CookiePath,
        Domain = Options.CookieDomain,
        MaxAge = Options.CookieMaxAge,
        IsEssential = true,
    };
}

/// <summary>The <see cref="HttpSessionSettings"/> of one session type, as a singleton.</summary>
/// <typeparam name="TSession">The session state type.</typeparam>
internal sealed class HttpSessionSettingsFor<TSession>(HttpSessionSettings value)
{
    public HttpSessionSettings Value { get; } = value;

    /// <summary>The options name of <typeparamref name="TSession"/>: the one <c>AddSessions</c> uses.</summary>
    public static string Name => typeof(TSession).FullName ?? typeof(TSession).Name;

    public static HttpSessionSettingsFor<TSession> Create(IServiceProvider services) =>
        new(new HttpSessionSettings(
            services.GetRequiredService<IOptionsMonitor<HttpSessionOptions>>().Get(Name),
            services.GetRequiredService<IOptionsMonitor<SessionOptions>>().Get(Name).InvalidId,
            services.GetService<IDataProtectionProvider>(),
            services.GetService<Microsoft.Extensions.Hosting.IHostEnvironment>() is { } environment && Microsoft.Extensions.Hosting.HostEnvironmentEnvExtensions.IsDevelopment(environment)));
}
