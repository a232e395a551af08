namespace StateKit;

/// <summary>The conditions and expiry of one write.</summary>
/// <param name="ExpectedVersion">
/// <see langword="null"/> writes unconditionally; <c>0</c> requires that the key does not exist;
/// <c>n</c> requires that the entry is at version n.
/// </param>
/// <param name="TimeToLive">
/// How long the entry lives after this write. <see langword="null"/> applies the store's default
/// (<see cref="StateStoreOptions.DefaultTimeToLive"/>), also when the write replaces an entry that had another expiry;
/// <see cref="StateTimeToLive.KeepCurrent"/> keeps the expiry of the live entry it replaces (a new entry gets the
/// default); <see cref="Timeout.InfiniteTimeSpan"/> means no expiry.
/// </param>
public readonly record struct StateWriteOptions(long? ExpectedVersion = null, TimeSpan? TimeToLive = null)
{
    /// <summary>Gets options that write only when the key does not exist.</summary>
    public static StateWriteOptions IfNotExists => new(0);

    /// <summary>Creates options that write only when the entry is at <paramref name="version"/>.</summary>
    /// <param name="version">The version the entry must have; 0 means it must not exist.</param>
    /// <returns>The options.</returns>
    public static StateWriteOptions IfVersion(long version) => new(version);
}
