namespace StateKit;

/// <summary>
/// The special times to live a write accepts (<see cref="StateWriteOptions.TimeToLive"/>,
/// <see cref="IStateStore.ListAppendAsync"/>). One rule on every write path: a write that gives no time to live gets the
/// store's <see cref="StateStoreOptions.DefaultTimeToLive"/>, whether it creates the entry or replaces it;
/// <see cref="KeepCurrent"/> keeps the expiry the entry or list already has.
/// </summary>
public static class StateTimeToLive
{
    /// <summary>
    /// Keeps the current expiry of the live entry a write replaces, or of the live list an append extends; an entry or
    /// list the write creates gets the store's default. Accepted by writes and appends, not by touches.
    /// </summary>
    public static readonly TimeSpan KeepCurrent = TimeSpan.MinValue;

    /// <summary>No expiry: the same value as <see cref="Timeout.InfiniteTimeSpan"/>.</summary>
    public static readonly TimeSpan Never = Timeout.InfiniteTimeSpan;
}
