using System.ComponentModel.DataAnnotations;

namespace StateKit;

/// <summary>Settings every <see cref="IStateStore"/> shares: key namespace, limits and default expiry.</summary>
public class StateStoreOptions
{
    /// <summary>Gets or sets the key namespace. Two stores with different prefixes never see each other's data.</summary>
    /// <value>The default value is an empty string (the default namespace).</value>
    [MaxLength(StateKitDefaults.MaxKeyPrefixLength)]
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>Gets or sets the longest accepted key, in UTF-16 characters.</summary>
    /// <value>The default value is 512.</value>
    [Range(1, StateKitDefaults.MaxKeyLengthLimit)]
    public int MaxKeyLength { get; set; } = StateKitDefaults.MaxKeyLength;

    /// <summary>Gets or sets the largest accepted value (and list item), in bytes. Larger writes are refused before anything is stored.</summary>
    /// <value>The default value is 16 MiB (16,777,216 bytes).</value>
    [Range(1, int.MaxValue)]
    public int MaxValueBytes { get; set; } = StateKitDefaults.MaxValueBytes;

    /// <summary>Gets or sets the expiry applied to writes that do not give one.</summary>
    /// <value>The default value is <see langword="null"/>: entries never expire unless a write says so.</value>
    public TimeSpan? DefaultTimeToLive { get; set; }

    /// <summary>Copies the shared settings of this instance onto <paramref name="target"/>.</summary>
    /// <param name="target">The options to fill.</param>
    public void CopyTo(StateStoreOptions target)
    {
        ArgumentNullException.ThrowIfNull(target);
        target.KeyPrefix = KeyPrefix;
        target.MaxKeyLength = MaxKeyLength;
        target.MaxValueBytes = MaxValueBytes;
        target.DefaultTimeToLive = DefaultTimeToLive;
    }
}
