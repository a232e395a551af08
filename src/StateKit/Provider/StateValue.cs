namespace StateKit;

/// <summary>A typed value read from an <see cref="IStateProvider"/>, with the version it was read at.</summary>
/// <typeparam name="T">The value type.</typeparam>
/// <param name="Key">The key within its scope.</param>
/// <param name="Value">The value.</param>
/// <param name="Version">The version (1 on create, +1 on every write); pass it back as an expected version.</param>
/// <param name="ExpiresAt">When it expires, if it does.</param>
public sealed record StateValue<T>(string Key, T Value, long Version, DateTimeOffset? ExpiresAt);

/// <summary>How a write that carries an expected version resolves a conflict.</summary>
public enum StateConflictStrategy
{
    /// <summary>Throw <see cref="StateConflictException"/>; nothing is written (the default).</summary>
    Fail,

    /// <summary>Write anyway over whatever is there now.</summary>
    LastWriterWins,

    /// <summary>Keep what is there now; the write is dropped and the current version returned.</summary>
    FirstWriterWins,

    /// <summary>Combine the current and the incoming value with <see cref="StateSetOptions{T}.Merge"/> and write the result.</summary>
    Merge,
}

/// <summary>Options of one provider write.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class StateSetOptions<T>
{
    /// <summary>Gets or sets the version the caller read (0 = must not exist); <see langword="null"/> writes unconditionally.</summary>
    public long? ExpectedVersion { get; set; }

    /// <summary>Gets or sets what happens when <see cref="ExpectedVersion"/> does not match.</summary>
    public StateConflictStrategy Strategy { get; set; } = StateConflictStrategy.Fail;

    /// <summary>Gets or sets the merge of (current, incoming) for <see cref="StateConflictStrategy.Merge"/>.</summary>
    public Func<T?, T, T>? Merge { get; set; }

    /// <summary>
    /// Gets or sets the time to live; <see langword="null"/> uses the store's default (also when the value existed with
    /// another expiry), <see cref="StateTimeToLive.KeepCurrent"/> keeps the value's current expiry.
    /// </summary>
    public TimeSpan? TimeToLive { get; set; }
}

/// <summary>One past version of a key, as kept by the provider's history.</summary>
/// <param name="Version">The version.</param>
/// <param name="WrittenAt">When it was written.</param>
public sealed record StateVersionInfo(long Version, DateTimeOffset WrittenAt);

/// <summary>What changed in one member between two versions of a JSON object.</summary>
public enum StateDiffKind
{
    /// <summary>The member is new.</summary>
    Added,

    /// <summary>The member's value changed.</summary>
    Modified,

    /// <summary>The member is gone.</summary>
    Removed,
}

/// <summary>One difference between two versions.</summary>
/// <param name="Path">The JSON Pointer (RFC 6901) of the member, such as <c>/profile/name</c> or <c>/tags/2</c>; empty for the whole value.</param>
/// <param name="Kind">What happened to it.</param>
/// <param name="OldValue">The old value as JSON, for modified and removed members.</param>
/// <param name="NewValue">The new value as JSON, for added and modified members.</param>
public sealed record StateDiffEntry(string Path, StateDiffKind Kind, string? OldValue, string? NewValue);

/// <summary>A checkpoint of a whole scope.</summary>
/// <param name="Id">The checkpoint id (sortable by creation time).</param>
/// <param name="Scope">The scope.</param>
/// <param name="Name">The name given at creation, or <c>auto</c>.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="EntryCount">How many values it holds.</param>
/// <param name="ListCount">How many lists it holds.</param>
public sealed record StateCheckpointInfo(string Id, StateScope Scope, string Name, DateTimeOffset CreatedAt, int EntryCount, int ListCount);
