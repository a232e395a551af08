using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace StateKit.AspNetCore;

/// <summary>ETag ↔ version helpers for endpoints that expose state: a version is the strong ETag <c>"n"</c>.</summary>
public static class StateKitHttpExtensions
{
    /// <summary>Formats a version as a strong ETag (<c>"42"</c>).</summary>
    /// <param name="version">The version (1 or more).</param>
    /// <returns>The ETag.</returns>
    public static string ToETag(long version)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(version);
        return "\"" + version.ToString(CultureInfo.InvariantCulture) + "\"";
    }

    /// <summary>Sets the response's ETag to <paramref name="version"/>.</summary>
    /// <param name="response">The response.</param>
    /// <param name="version">The version.</param>
    public static void SetETag(this HttpResponse response, long version)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.Headers.ETag = ToETag(version);
    }

    /// <summary>
    /// Reads the If-Match header as the expected version of a write: <see langword="null"/> when absent or <c>*</c>
    /// (write whatever the version), otherwise the version of the one strong ETag <c>"n"</c>.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <returns>The expected version, or <see langword="null"/>.</returns>
    /// <exception cref="BadHttpRequestException">If-Match is not one strong ETag made by <see cref="ToETag"/> (400).</exception>
    public static long? GetIfMatchVersion(this HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var values = request.Headers.IfMatch;
        if (values.Count == 0)
        {
            return null;
        }

        var text = values.Count == 1 ? values[0]?.Trim() : null;
        if (text == "*")
        {
            return null;
        }

        return TryParse(text, out var version)
            ? version
            : throw new BadHttpRequestException("If-Match must be one strong ETag of a version, such as \"3\", or *.", StatusCodes.Status400BadRequest);
    }

    /// <summary>Tells whether If-None-Match names <paramref name="version"/> (or is <c>*</c>): a GET can then answer 304.</summary>
    /// <param name="request">The request.</param>
    /// <param name="version">The current version.</param>
    /// <returns>Whether the client already has this version.</returns>
    public static bool IfNoneMatchHas(this HttpRequest request, long version)
    {
        ArgumentNullException.ThrowIfNull(request);
        foreach (var value in request.Headers.IfNoneMatch)
        {
            foreach (var tag in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (tag == "*" || (TryParse(tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag, out var v) && v == version))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool TryParse(string? tag, out long version)
    {
        version = 0;
        return tag is { Length: > 2 } && tag[0] == '"' && tag[^1] == '"'
            && long.TryParse(tag.AsSpan(1, tag.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out version) && version > 0;
    }
}
