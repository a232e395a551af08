using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace StateKit.AspNetCore.Internal;

/// <summary>Writes StateKit's exceptions as ProblemDetails (<see cref="StateKitProblems"/>); leaves others to the next handler.</summary>
internal sealed class StateKitExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Response.HasStarted || StateKitProblems.Map(httpContext, exception) is not { } problem)
        {
            return false;
        }

        return await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception }).ConfigureAwait(false);
    }
}
