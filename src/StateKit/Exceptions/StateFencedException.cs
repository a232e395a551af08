namespace StateKit;

/// <summary>
/// A fenced write (<see cref="StateFencingExtensions.SetFencedAsync"/>) was refused: the key was written under a newer
/// lease grant (a larger fencing token) than the writer's, so the writer's lease has expired and been taken. Nothing was written.
/// </summary>
public sealed class StateFencedException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateFencedException"/> class.</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="key">The key.</param>
    /// <param name="fencingToken">The writer's token.</param>
    /// <param name="currentToken">The token the key was last written with.</param>
    public StateFencedException(string storeName, string key, long fencingToken, long currentToken)
        : base($"{Describe(storeName, "fenced set", key)}: the writer's fencing token {fencingToken} is older than {currentToken}, the token the key was last written with (its lease expired and was granted again). Nothing was written.", storeName, "fenced set", key)
    {
        FencingToken = fencingToken;
        CurrentToken = currentToken;
    }

    /// <summary>Gets the writer's fencing token.</summary>
    public long FencingToken { get; }

    /// <summary>Gets the token the key was last written with.</summary>
    public long CurrentToken { get; }
}
