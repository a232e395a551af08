namespace StateKit;

/// <summary>One write of a batch (<see cref="IStateStore.SetManyAsync"/>).</summary>
/// <param name="Key">The key to write.</param>
/// <param name="Value">The bytes to store.</param>
/// <param name="Options">The expected version and time to live of the write.</param>
public readonly record struct StateWrite(string Key, ReadOnlyMemory<byte> Value, StateWriteOptions Options = default);
