using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StateKit.AspNetCore.Internal;

namespace StateKit.AspNetCore;

/// <summary>Maps the State Explorer: a page to browse the app's StateKit stores, behind the app's authorization.</summary>
public static class StateKitExplorerExtensions
{
    /// <summary>
    /// Maps the State Explorer under <paramref name="pattern"/>: stores and their pipelines and health, scopes
    /// (sessions, agents, conversations…), values as JSON, each key's history with the diff between two versions,
    /// checkpoints with restore and fork, and live updates from the change feed. The page and its scripts are served
    /// from the package (no CDN). Nothing is exposed unless this is called.
    /// </summary>
    /// <remarks>
    /// Every request must satisfy <see cref="StateKitExplorerOptions.AuthorizationPolicy"/>; outside the Development
    /// environment the policy is required. Restore and fork go through <see cref="IStateProvider"/> (its authorizers
    /// and audit sinks run, versions are checked), need a JSON body and the <c>X-StateKit-Explorer</c> header (so a
    /// cross-site form cannot send them), and are refused in <see cref="StateKitExplorerOptions.ReadOnly"/> mode.
    /// </remarks>
    /// <param name="endpoints">The app's endpoints.</param>
    /// <param name="pattern">The path the Explorer is served under, for example <c>/statekit</c>.</param>
    /// <param name="configure">Sets the options (the authorization policy, read-only mode).</param>
    /// <returns>The group's convention builder, to add conventions (rate limiting, CORS…).</returns>
    /// <exception cref="InvalidOperationException">
    /// Outside Development without an authorization policy, or the policy named does not exist.
    /// </exception>
    public static IEndpointConventionBuilder MapStateKitExplorer(this IEndpointRouteBuilder endpoints, string pattern = "/statekit", Action<StateKitExplorerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        var options = new StateKitExplorerOptions();
        configure?.Invoke(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxListed, 1, nameof(StateKitExplorerOptions.MaxListed));
        var services = endpoints.ServiceProvider;
        if (options.AuthorizationPolicy is null)
        {
            if (services.GetService<IHostEnvironment>() is not { } environment || !environment.IsDevelopment())
            {
                throw new InvalidOperationException(
                    "The State Explorer shows and changes the app's state: outside Development it needs an authorization policy, " +
                    $"for example app.MapStateKitExplorer(\"{pattern}\", o => o.AuthorizationPolicy = \"StateAdmins\") with that policy added by AddAuthorization.");
            }
        }
        else if (services.GetService<IAuthorizationPolicyProvider>()?.GetPolicyAsync(options.AuthorizationPolicy).GetAwaiter().GetResult() is null)
        {
            throw new InvalidOperationException($"The State Explorer's authorization policy '{options.AuthorizationPolicy}' does not exist: add it with services.AddAuthorization(o => o.AddPolicy(\"{options.AuthorizationPolicy}\", …)).");
        }

        var group = endpoints.MapGroup(pattern);
        if (options.AuthorizationPolicy is not null)
        {
            group.RequireAuthorization(options.AuthorizationPolicy);
        }

        ExplorerEndpoints.Map(group, options);
        return group;
    }
}
