using System.Collections.Concurrent;

namespace StateKit.Internal;

/// <summary>
/// The store names claimed by the session types of one service provider. Two types under one name would read, update
/// and delete each other's sessions, so the second claim fails when its manager is resolved.
/// </summary>
internal sealed class SessionNames
{
    private readonly ConcurrentDictionary<string, Type> _claimed = new(StringComparer.Ordinal);

    public void Claim(string name, Type sessionType)
    {
        var owner = _claimed.GetOrAdd(name, sessionType);
        if (owner != sessionType)
        {
            throw new InvalidOperationException(
                $"The session types {owner} and {sessionType} are both stored under the name '{name}'; set SessionOptions.Name for one of them (AddSessions<{sessionType.Name}>(o => o.Name = \"…\")).");
        }
    }
}
