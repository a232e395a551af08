namespace StateKit.File.Internal;

/// <summary>
/// What this process knows of one list file generation: its key, expiry, item positions and the end of
/// its last complete record. Guarded by locking the instance itself.
/// </summary>
internal sealed class ListIndex
{
    public long Generation { get; set; }

    public string? Key { get; set; }

    public long ExpiresAt { get; set; } = long.MaxValue;

    public long ValidEnd { get; set; }

    /// <summary>Gets or sets the file format: 2 (committed length in the header) or 1 (the first format, read only).</summary>
    public int Format { get; set; }

    /// <summary>Gets the file offset of each item's payload.</summary>
    public List<long> Offsets { get; } = [];

    /// <summary>Gets the payload length of each item.</summary>
    public List<int> Lengths { get; } = [];

    public int Count => Offsets.Count;

    public void Reset()
    {
        Generation = 0;
        Key = null;
        ExpiresAt = long.MaxValue;
        ValidEnd = 0;
        Format = 0;
        Offsets.Clear();
        Lengths.Clear();
    }
}
