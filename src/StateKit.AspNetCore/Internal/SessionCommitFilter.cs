using Microsoft.AspNetCore.Http;

namespace StateKit.AspNetCore.Internal;

/// <summary>
/// The endpoint filter of minimal-API endpoints that take a <see cref="SessionContext{TSession}"/>: after the handler
/// returns (and before its result is written) the session is saved; a failed save becomes the endpoint's answer as
/// ProblemDetails. A handler that throws saves nothing. Also the endpoint metadata that marks the filter as added.
/// </summary>
/// <typeparam name="TSession">The session state type.</typeparam>
internal sealed class SessionCommitFilter<TSession>
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var http = invocation.HttpContext;
        object? result;
        try
        {
            result = await next(invocation).ConfigureAwait(false);
        }
        catch
        {
            http.Features.Get<SessionContext<TSession>>()?.Discard();
            throw;
        }

        if (http.Features.Get<SessionContext<TSession>>() is { HasChanges: true } session && !http.Response.HasStarted)
        {
            try
            {
                await session.CommitAsync(http.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception ex) when (StateKitProblems.Map(http, ex) is { } problem)
            {
                session.Discard();
                return Results.Problem(problem);
            }
        }

        return result;
    }
}
