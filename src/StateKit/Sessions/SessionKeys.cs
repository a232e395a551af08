namespace StateKit.Internal;

/// <summary>
/// Where a session manager keeps its data in the store, in one place:
/// <list type="bullet">
/// <item><c>sessions/{name}/{id}</c>: the session record (state, creation time, scope id), with the session's expiry;</item>
/// <item><c>session-scopes/{name}/{scopeId}</c>: the scope's owner entry, the ids of the sessions that may use the
/// scope (one, or two while an id is regenerated); no expiry, removed with the scope.</item>
/// </list>
/// The session's other data lives in the provider scope <see cref="StateScope.Session"/>(scopeId).
/// </summary>
internal sealed class SessionKeys(string name)
{
    /// <summary>Gets the prefix of the session records.</summary>
    public string RecordPrefix { get; } = StoreKeyLayout.SessionRecords + name + "/";

    /// <summary>Gets the prefix of the scope owner entries.</summary>
    public string OwnerPrefix { get; } = StoreKeyLayout.SessionScopes + name + "/";

    /// <summary>The key of a session record.</summary>
    public string Record(string sessionId) => RecordPrefix + sessionId;

    /// <summary>The key of a scope's owner entry.</summary>
    public string Owner(string scopeId) => OwnerPrefix + scopeId;
}
