using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StateKit;
using StateKit.AspNetCore;
using StateKit.AspNetCore.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers StateKit's ASP.NET Core pieces: HTTP sessions, <see cref="IDistributedCache"/>, ProblemDetails and health.</summary>
public static class AspNetCoreStateKitExtensions
{
    /// <summary>The tag of the health check <see cref="AddHealthCheck"/> registers, which <see cref="MapStateKitHealth"/> reports.</summary>
    public const string HealthTag = "statekit";

    /// <summary>
    /// Lets requests carry a <typeparamref name="TSession"/> session in a cookie or header: take a
    /// <see cref="SessionContext{TSession}"/> parameter in a minimal-API endpoint, or call <c>HttpContext.GetSessionAsync</c>.
    /// Options are bound from <c>Sessions:Http</c> under StateKit's section (<c>StateKit:Sessions:Http</c>, or under the section
    /// given to <c>AddStateKit(configuration)</c>), then
    /// from <paramref name="configure"/>; they are validated at start-up. Register the sessions too (<c>AddSessions</c>).
    /// </summary>
    /// <typeparam name="TSession">The session state type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Cookie, header and conflict options.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder AddHttpSessions<TSession>(this StateKitBuilder builder, Action<HttpSessionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.BindOptions<HttpSessionOptions>(HttpSessionOptions.SectionPath, HttpSessionSettingsFor<TSession>.Name)
            .Validate(o => o.UseCookie || o.UseHeader, "HTTP sessions need a cookie or a header (UseCookie or UseHeader).")
            .Validate(o => !o.UseCookie || IsToken(o.CookieName), "CookieName must be a non-empty cookie name (letters, digits and !#$%&'*+-.^_`|~).")
            .Validate(o => !o.UseHeader || IsToken(o.HeaderName), "HeaderName must be a non-empty header name (letters, digits and !#$%&'*+-.^_`|~).")
            .Validate(o => o.CookieMaxAge is null || o.CookieMaxAge > TimeSpan.Zero, "CookieMaxAge must be positive.")
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.AddDataProtection();
        builder.Services.TryAddSingleton(HttpSessionSettingsFor<TSession>.Create);
        return builder;
    }

    /// <summary>
    /// Registers an <see cref="IDistributedCache"/> on the StateKit store (replacing any other), with the expiration rules
    /// of <c>MemoryDistributedCache</c>: ASP.NET Core's session or HybridCache's second level then run on the file, SQLite,
    /// PostgreSQL or Redis store. It is also an <see cref="IBufferDistributedCache"/> (HybridCache's buffer path). Output
    /// caching uses <c>IOutputCacheStore</c>, which this does not provide. Call <c>AddStateKit()</c> too.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">The key prefix.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddStateKitDistributedCache(this IServiceCollection services, Action<StateKitDistributedCacheOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<StateKitDistributedCacheOptions>()
            .Validate(o => !string.IsNullOrEmpty(o.KeyPrefix) && o.KeyPrefix.EndsWith('/'), "KeyPrefix must be a non-empty key prefix ending with '/'.")
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.RemoveAll<IDistributedCache>();
        services.AddSingleton<IDistributedCache>(sp => new StateKitDistributedCache(
            sp.GetService<IStateStore>() ?? throw new InvalidOperationException("AddStateKitDistributedCache needs a StateKit store: call services.AddStateKit() too."),
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetRequiredService<IOptions<StateKitDistributedCacheOptions>>().Value));
        return services;
    }

    /// <summary>
    /// Answers StateKit's exceptions with ProblemDetails (<see cref="StateKitProblems"/>): registers
    /// <c>AddProblemDetails()</c> and an exception handler. Add <c>app.UseExceptionHandler()</c> to the pipeline.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddStateKitProblemDetails(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddProblemDetails();
        services.AddExceptionHandler<StateKitExceptionHandler>();
        return services;
    }

    /// <summary>
    /// Registers a health check of the configured store, whichever it is and however it is decorated: it writes, reads and
    /// deletes a short-lived probe entry through the whole pipeline (<see cref="StateStoreHealthCheck"/>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The check's name (default <c>statekit</c>).</param>
    /// <param name="failureStatus">The status when the store fails (default unhealthy).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder AddHealthCheck(this StateKitBuilder builder, string name = "statekit", HealthStatus? failureStatus = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        builder.Services.AddHealthChecks().AddCheck<StateStoreHealthCheck>(name, failureStatus, [HealthTag]);
        return builder;
    }

    /// <summary>
    /// Maps a health endpoint reporting the checks <see cref="AddHealthCheck"/> registered: 200 when healthy, 503 when
    /// not, with a small JSON body (status and per-check status and duration; no descriptions, exceptions or store details).
    /// </summary>
    /// <param name="endpoints">The endpoints.</param>
    /// <param name="pattern">The route (default <c>/health</c>).</param>
    /// <returns>The endpoint, for further conventions (authorization, host filtering).</returns>
    public static IEndpointConventionBuilder MapStateKitHealth(this IEndpointRouteBuilder endpoints, string pattern = "/health")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapHealthChecks(pattern, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(HealthTag),
            ResponseWriter = static (context, report) => context.Response.WriteAsJsonAsync(new
            {
                status = report.Status.ToString(),
                durationMs = report.TotalDuration.TotalMilliseconds,
                checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), durationMs = e.Value.Duration.TotalMilliseconds }),
            }),
        });
    }

    private static bool IsToken(string? name) =>
        !string.IsNullOrEmpty(name) && name.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal));
}
