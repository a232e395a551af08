namespace StateKit;

/// <summary>
/// Where encryption at rest gets its keys: the key new writes use and every key older values may still need. Shipped:
/// <see cref="StateEncryptionKeyRing"/> (keys given in code or configuration) and, in <c>StateKit.AspNetCore</c>, a ring
/// over ASP.NET Core Data Protection's keys. Called on every read and write: answer from memory.
/// </summary>
public interface IStateEncryptionKeyRing
{
    /// <summary>Gets the key new writes are encrypted with.</summary>
    StateEncryptionKey CurrentKey { get; }

    /// <summary>Finds a key by id, current or retired.</summary>
    /// <param name="keyId">The id stored in front of a value.</param>
    /// <returns>The key, or <see langword="null"/> when the ring does not have it.</returns>
    StateEncryptionKey? FindKey(string keyId);
}
