using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace StateKit.Adapters;

/// <summary>
/// The key rules every StateKit store applies. Public so that third-party adapters refuse exactly
/// what the built-in ones refuse.
/// </summary>
/// <remarks>
/// A key is 1 to <see cref="StateStoreOptions.MaxKeyLength"/> characters; it contains no control
/// characters, no unpaired surrogates and no backslash; and none of its <c>/</c>-separated segments is
/// <c>.</c> or <c>..</c>.
/// </remarks>
public static class StateKeys
{
    /// <summary>
    /// Escapes any text (an id from outside: a user, a session or a cache key) into one key segment: it holds no
    /// <c>/</c>, <c>\</c> or control character and is never <c>.</c> or <c>..</c>, and two different texts (of valid Unicode) never give the
    /// same segment. The segment is longer than the text (percent-escapes), so the key may still be too long for a store.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <returns>The segment: <c>~</c> and the text percent-escaped as a URI data string.</returns>
    public static string Segment(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return "~" + Uri.EscapeDataString(text);
    }

    /// <summary>Checks a key against the rules.</summary>
    /// <param name="key">The key to check.</param>
    /// <param name="maxLength">The longest accepted key.</param>
    /// <param name="reason">Why the key is refused, when it is.</param>
    /// <returns><see langword="true"/> when the key is valid.</returns>
    public static bool IsValid([NotNullWhen(true)] string? key, int maxLength, [NotNullWhen(false)] out string? reason)
    {
        if (string.IsNullOrEmpty(key))
        {
            reason = "a key may not be null or empty";
            return false;
        }

        return Check(key, maxLength, segments: true, out reason);
    }

    /// <summary>Checks a listing prefix: the character and length rules of keys, but not the segment rule.</summary>
    /// <remarks>A prefix may stop inside a segment: <c>.</c> is the prefix of the valid key <c>.hidden</c>.</remarks>
    /// <param name="prefix">The prefix; empty is valid.</param>
    /// <param name="maxLength">The longest accepted key.</param>
    /// <param name="reason">Why the prefix is refused, when it is.</param>
    /// <returns><see langword="true"/> when some valid key could start with the prefix.</returns>
    public static bool IsValidPrefix([NotNullWhen(true)] string? prefix, int maxLength, [NotNullWhen(false)] out string? reason)
    {
        if (prefix is null)
        {
            reason = "a prefix may not be null";
            return false;
        }

        return Check(prefix, maxLength, segments: false, out reason);
    }

    private static bool Check(string key, int maxLength, bool segments, [NotNullWhen(false)] out string? reason)
    {
        if (key.Length > maxLength)
        {
            reason = $"the key is {key.Length} characters long and the limit is {maxLength}";
            return false;
        }

        var segmentStart = 0;
        for (var i = 0; i <= key.Length; i++)
        {
            if (i == key.Length || key[i] == '/')
            {
                if (segments && key.AsSpan(segmentStart, i - segmentStart) is "." or "..")
                {
                    reason = "a key may not contain '.' or '..' path segments";
                    return false;
                }

                segmentStart = i + 1;
                continue;
            }

            var c = key[i];
            if (char.IsControl(c))
            {
                reason = $"a key may not contain control characters (U+{(int)c:X4} at index {i})";
                return false;
            }

            if (c == '\\')
            {
                reason = "a key may not contain a backslash";
                return false;
            }

            if (char.IsHighSurrogate(c) && i + 1 < key.Length && char.IsLowSurrogate(key[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                reason = $"a key may not contain an unpaired surrogate (index {i})";
                return false;
            }
        }

        reason = null;
        return true;
    }

    /// <summary>Throws <see cref="InvalidStateKeyException"/> when a key breaks the rules.</summary>
    /// <param name="key">The key to check.</param>
    /// <param name="maxLength">The longest accepted key.</param>
    /// <param name="storeName">The store name for the message.</param>
    /// <param name="operation">The operation for the message.</param>
    /// <exception cref="InvalidStateKeyException">The key is not valid.</exception>
    public static void Validate([NotNull] string? key, int maxLength, string storeName, string operation)
    {
        if (!IsValid(key, maxLength, out var reason))
        {
            throw new InvalidStateKeyException(storeName, key, operation, reason);
        }
    }

    /// <summary>The prefix under which session managers keep session records: <c>sessions/{type}/{id}</c>.</summary>
    internal const string SessionRecordPrefix = Internal.StoreKeyLayout.SessionRecords;

    /// <summary>A session id as messages and logs show it: its first four characters, so two can be told apart, and no more.</summary>
    /// <param name="sessionId">The id.</param>
    /// <returns>The redacted id.</returns>
    internal static string RedactSessionId(string? sessionId) =>
        sessionId is null ? "(null)" : sessionId.Length <= 4 ? "…" : sessionId[..4] + "…";

    /// <summary>
    /// Formats a key for an error message or a log: control characters escaped, long keys shortened, and a session id
    /// (a bearer secret) in a session record's key (<c>sessions/{type}/{id}</c>) cut to its first four characters.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <returns>A printable form of the key.</returns>
    public static string Printable(string? key)
    {
        if (key is null)
        {
            return "(null)";
        }

        if (key.StartsWith(SessionRecordPrefix, StringComparison.Ordinal) && key.IndexOf('/', SessionRecordPrefix.Length) is var slash and > 0)
        {
            key = key[..(slash + 1)] + RedactSessionId(key[(slash + 1)..]);
        }

        var builder = new StringBuilder(Math.Min(key.Length, 80) + 2);
        foreach (var c in key.Length > 80 ? key.AsSpan(0, 80) : key.AsSpan())
        {
            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        if (key.Length > 80)
        {
            builder.Append("…(").Append(key.Length).Append(" chars)");
        }

        return builder.ToString();
    }
}
