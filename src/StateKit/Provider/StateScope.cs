using StateKit.Adapters;

namespace StateKit;

/// <summary>The tier of a <see cref="StateScope"/>: who shares the state and how long it lives.</summary>
public enum StateTier
{
    /// <summary>One agent's working state.</summary>
    Local,

    /// <summary>State shared by the agents of one workspace.</summary>
    Shared,

    /// <summary>State of one session; removed with the session.</summary>
    Session,

    /// <summary>Long-lived state of one agent, with a longer history.</summary>
    Persistent,

    /// <summary>One application-wide scope.</summary>
    Global,
}

/// <summary>
/// Where a piece of provider state lives: a tier and its owner (agent, workspace or session id). Scopes never
/// see each other's keys. Owner ids are 1–128 characters of letters, digits and <c>- _ . : @</c>.
/// </summary>
public readonly record struct StateScope
{
    /// <summary>The longest owner id.</summary>
    public const int MaxOwnerIdLength = 128;

    private readonly string? _storePrefix;

    private StateScope(StateTier tier, string ownerId)
    {
        Tier = tier;
        OwnerId = ownerId;
        _storePrefix = Internal.StoreKeyLayout.ScopePrefix(tier, ownerId);
    }

    /// <summary>Gets the one application-wide scope.</summary>
    public static StateScope Global { get; } = new(StateTier.Global, "global");

    /// <summary>Gets the tier.</summary>
    public StateTier Tier { get; }

    /// <summary>Gets the owner id (<c>global</c> for <see cref="StateTier.Global"/>).</summary>
    public string OwnerId { get; }

    /// <summary>One agent's working state.</summary>
    /// <param name="agentId">The agent id.</param>
    /// <returns>The scope.</returns>
    /// <exception cref="InvalidStateKeyException">The id is empty, longer than <see cref="MaxOwnerIdLength"/> characters, <c>.</c> or <c>..</c>, or has a character other than letters, digits, <c>-_.:@</c>.</exception>
    public static StateScope Local(string agentId) => new(StateTier.Local, ValidOwner(agentId, nameof(agentId), "StateScope.Local"));

    /// <summary>State shared by the agents of a workspace.</summary>
    /// <param name="workspaceId">The workspace id.</param>
    /// <returns>The scope.</returns>
    /// <exception cref="InvalidStateKeyException">The id is empty, longer than <see cref="MaxOwnerIdLength"/> characters, <c>.</c> or <c>..</c>, or has a character other than letters, digits, <c>-_.:@</c>.</exception>
    public static StateScope Shared(string workspaceId) => new(StateTier.Shared, ValidOwner(workspaceId, nameof(workspaceId), "StateScope.Shared"));

    /// <summary>State of one session.</summary>
    /// <param name="sessionId">The session id.</param>
    /// <returns>The scope.</returns>
    /// <exception cref="InvalidStateKeyException">The id is empty, longer than <see cref="MaxOwnerIdLength"/> characters, <c>.</c> or <c>..</c>, or has a character other than letters, digits, <c>-_.:@</c>.</exception>
    public static StateScope Session(string sessionId) => new(StateTier.Session, ValidOwner(sessionId, nameof(sessionId), "StateScope.Session"));

    /// <summary>Long-lived state of one agent.</summary>
    /// <param name="agentId">The agent id.</param>
    /// <returns>The scope.</returns>
    /// <exception cref="InvalidStateKeyException">The id is empty, longer than <see cref="MaxOwnerIdLength"/> characters, <c>.</c> or <c>..</c>, or has a character other than letters, digits, <c>-_.:@</c>.</exception>
    public static StateScope Persistent(string agentId) => new(StateTier.Persistent, ValidOwner(agentId, nameof(agentId), "StateScope.Persistent"));

    /// <inheritdoc />
    public override string ToString() => Tier == StateTier.Global ? "global" : $"{Tier.ToString().ToLowerInvariant()}:{OwnerId}";

    /// <summary>The store-key prefix of this scope; unique per scope and never a prefix of another scope's.</summary>
    /// <summary>Reads a scope as <see cref="ToString"/> writes it: <c>global</c>, <c>local:ID</c>, <c>shared:ID</c>, <c>session:ID</c> or <c>persistent:ID</c>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The scope.</returns>
    /// <exception cref="FormatException">The text names no tier.</exception>
    /// <exception cref="InvalidStateKeyException">The owner id is not valid.</exception>
    public static StateScope Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var owner = colon > 0 ? text[(colon + 1)..] : string.Empty;
        return (colon > 0 ? text[..colon] : text) switch
        {
            "global" when colon < 0 => Global,
            "local" => Local(owner),
            "shared" => Shared(owner),
            "session" => Session(owner),
            "persistent" => Persistent(owner),
            _ => throw new FormatException($"'{text}' is not a scope: use global, local:ID, shared:ID, session:ID or persistent:ID."),
        };
    }

    internal string StorePrefix => _storePrefix ?? throw new InvalidOperationException("Use the StateScope factory methods; default(StateScope) is not a scope.");

    /// <summary>The owner id, when it is valid; otherwise <see cref="InvalidStateKeyException"/> (ids often come from requests: a 400, not a 500).</summary>
    private static string ValidOwner(string ownerId, string parameterName, string operation)
    {
        ArgumentNullException.ThrowIfNull(ownerId, parameterName);
        if (ownerId.Length is 0 or > MaxOwnerIdLength || ownerId is "." or ".." || !ownerId.All(IsAllowed))
        {
            throw new InvalidStateKeyException(
                "provider",
                ownerId,
                operation,
                $"not a valid owner id: use 1 to {MaxOwnerIdLength} letters, digits or '-', '_', '.', ':', '@' (and not '.' or '..')");
        }

        return ownerId;
    }

    private static bool IsAllowed(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '@';
}
