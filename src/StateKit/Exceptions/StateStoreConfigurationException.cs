namespace StateKit;

/// <summary>
/// The store refused the operation because of how it is set up, not because it is down: a wrong password, a database
/// or schema that does not exist, a directory or database file the process may not write. Retrying does not help until
/// the configuration is fixed (ASP.NET Core's StateKit problem mapping answers 500, not 503).
/// </summary>
public sealed class StateStoreConfigurationException : StateStoreException
{
    /// <summary>Initializes a new instance of the <see cref="StateStoreConfigurationException"/> class.</summary>
    /// <param name="storeName">The store.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="key">The key involved, if any.</param>
    /// <param name="detail">What is wrong, never with a password.</param>
    /// <param name="innerException">The backend's error.</param>
    public StateStoreConfigurationException(string storeName, string operation, string? key, string detail, Exception? innerException = null)
        : base($"{Describe(storeName, operation, key)}: the store is misconfigured, {detail} (a configuration problem, not an outage: retrying does not help).", storeName, operation, key, innerException)
    {
    }
}
