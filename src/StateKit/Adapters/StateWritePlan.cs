namespace StateKit.Adapters;

/// <summary>The outcome <see cref="StateStoreGuard.PlanBatch"/> works out for one write of a batch, or the live state of a key.</summary>
/// <param name="Version">The entry's version (0: missing or expired).</param>
/// <param name="ExpiresAt">The entry's expiry, or <see langword="null"/> for none.</param>
public readonly record struct StateWritePlan(long Version, DateTimeOffset? ExpiresAt);
