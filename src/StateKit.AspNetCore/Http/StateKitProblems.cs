using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace StateKit.AspNetCore;

/// <summary>
/// Turns StateKit's exceptions into HTTP answers (RFC 9457 ProblemDetails): conflict 409 with the current version,
/// unavailable 503 with Retry-After, invalid key or session id 400, session, checkpoint or version not found 404, too large 413, validation
/// 422, denied 403, anything else from a store 500. The details never name store keys, store names or connection
/// strings. <c>services.AddStateKitProblemDetails()</c> installs it as an <c>IExceptionHandler</c>.
/// </summary>
public static class StateKitProblems
{
    /// <summary>The Retry-After a 503 carries, in seconds.</summary>
    public const int RetryAfterSeconds = 5;

    /// <summary>
    /// Maps <paramref name="exception"/> to ProblemDetails, and sets the response's status and headers (ETag of the
    /// current version on a conflict, Retry-After when unavailable) unless the response has started. A conflict's
    /// version is also in the body (<c>currentVersion</c>): ASP.NET Core's exception handler removes ETag headers from
    /// the answers it writes.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <param name="exception">The exception.</param>
    /// <returns>The problem, or <see langword="null"/> when the exception is not StateKit's.</returns>
    public static ProblemDetails? Map(HttpContext context, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(exception);
        var problem = exception switch
        {
            StateConflictException conflict => Conflict(context, conflict),
            StateStoreUnavailableException => Problem(context, StatusCodes.Status503ServiceUnavailable, "State store unavailable", "The state store is not reachable right now; retry later.", (HeaderNames.RetryAfter, RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            InvalidStateKeyException => Problem(context, StatusCodes.Status400BadRequest, "Invalid state key", "The state key is not valid."),
            InvalidSessionIdException => Problem(context, StatusCodes.Status400BadRequest, "Invalid session id", "The session id is not valid."),
            SessionNotFoundException => Problem(context, StatusCodes.Status404NotFound, "Session not found", "The session does not exist or has expired."),
            StateNotFoundException => Problem(context, StatusCodes.Status404NotFound, "Not found", "The checkpoint or version asked for does not exist."),
            SessionLimitExceededException => Problem(context, StatusCodes.Status429TooManyRequests, "Too many sessions", "No new session can be started right now; retry later.", (HeaderNames.RetryAfter, RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            StateValueTooLargeException or SessionStateTooLargeException => Problem(context, StatusCodes.Status413PayloadTooLarge, "State too large", "The state is larger than this service allows; nothing was saved."),
            StateValidationException validation => Validation(context, validation),
            StateAccessDeniedException => Problem(context, StatusCodes.Status403Forbidden, "Access denied", "Access to this state is denied."),
            StateStoreConfigurationException => Problem(context, StatusCodes.Status500InternalServerError, "State store misconfigured", "The state store is not set up correctly."),
            StateCorruptedException or StateSchemaVersionException or StateEncryptionKeyNotFoundException or StateTypeVersionException => Problem(context, StatusCodes.Status500InternalServerError, "State unreadable", "Stored state could not be read."),
            StateStoreException => Problem(context, StatusCodes.Status500InternalServerError, "State store error", "The state store failed."),
            _ => null,
        };
        return problem;
    }

    private static ProblemDetails Conflict(HttpContext context, StateConflictException conflict)
    {
        var problem = Problem(context, StatusCodes.Status409Conflict, "Conflict", "The state was changed by another request; read it again and retry.");
        problem.Extensions["currentVersion"] = conflict.CurrentVersion;
        if (conflict.CurrentVersion > 0 && !context.Response.HasStarted)
        {
            context.Response.Headers.ETag = StateKitHttpExtensions.ToETag(conflict.CurrentVersion);
        }

        return problem;
    }

    private static ProblemDetails Validation(HttpContext context, StateValidationException validation)
    {
        var problem = Problem(context, StatusCodes.Status422UnprocessableEntity, "Invalid state", "The state was rejected by a validator; nothing was saved.");
        problem.Extensions["errors"] = validation.Problems.ToArray();
        return problem;
    }

    private static ProblemDetails Problem(HttpContext context, int status, string title, string detail, (string Name, string Value)? header = null)
    {
        if (!context.Response.HasStarted)
        {
            context.Response.StatusCode = status;
            if (header is { } h)
            {
                context.Response.Headers[h.Name] = h.Value;
            }
        }

        return new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Instance = context.Request.Path, // Type: ASP.NET Core's default for the status (an RFC 9110 section)
        };
    }
}
