namespace StateKit;

/// <summary>What a store guarantees beyond the contract every <see cref="IStateStore"/> keeps.</summary>
[Flags]
public enum StateStoreCapabilities
{
    /// <summary>Nothing beyond the common contract.</summary>
    None = 0,

    /// <summary>
    /// <see cref="IStateStore.SetManyAsync"/> is applied as one unit: a crash or an I/O failure leaves all of a batch or
    /// none of it. (Every store checks all of a batch's conditions before writing anything; this flag adds atomicity
    /// against failures. It says nothing of reads: a multi-key read is a snapshot only where the store documents it.)
    /// </summary>
    AtomicBatches = 1,
}
