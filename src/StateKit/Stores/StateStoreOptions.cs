using System.ComponentModel.DataAnnotations;
using StateKit.Adapters;

namespace StateKit;

/// <summary>Settings every <see cref="IStateStore"/> shares: key namespace, limits and default expiry.</summary>
/// <remarks>
/// Each setting remembers whether it was set (in code or by configuration binding). When an adapter's options are
/// created for <c>AddStateKit()</c> (<see cref="StateKitOptions.CreateStoreOptions{TStoreOptions}"/>), only the settings
/// the adapter's options leave unset are taken from the common <c>StateKit</c> options: a value given to
/// <c>UseRedis(…, o =&gt; o.KeyPrefix = "a")</c> is never overwritten.
/// </remarks>
public class StateStoreOptions
{
    private string _keyPrefix = string.Empty;
    private int _maxKeyLength = StateKitDefaults.MaxKeyLength;
    private int _maxValueBytes = StateKitDefaults.MaxValueBytes;
    private TimeSpan? _defaultTimeToLive;
    private int _maxAppendItems = StateKitDefaults.MaxAppendItems;
    private Settings _set;

    [Flags]
    private enum Settings
    {
        None = 0,
        KeyPrefix = 1,
        MaxKeyLength = 2,
        MaxValueBytes = 4,
        DefaultTimeToLive = 8,
        MaxAppendItems = 16,
    }

    /// <summary>Gets or sets the key namespace. Two stores with different prefixes never see each other's data.</summary>
    /// <value>The default value is an empty string (the default namespace).</value>
    [MaxLength(StateKitDefaults.MaxKeyPrefixLength)]
    public string KeyPrefix
    {
        get => _keyPrefix;
        set => Set(ref _keyPrefix, value, Settings.KeyPrefix);
    }

    /// <summary>Gets or sets the longest accepted key, in UTF-16 characters.</summary>
    /// <value>The default value is 512.</value>
    [Range(1, StateKitDefaults.MaxKeyLengthLimit)]
    public int MaxKeyLength
    {
        get => _maxKeyLength;
        set => Set(ref _maxKeyLength, value, Settings.MaxKeyLength);
    }

    /// <summary>Gets or sets the largest accepted value (and list item), in bytes. Larger writes are refused before anything is stored.</summary>
    /// <value>The default value is 16 MiB (16,777,216 bytes).</value>
    [Range(1, int.MaxValue)]
    public int MaxValueBytes
    {
        get => _maxValueBytes;
        set => Set(ref _maxValueBytes, value, Settings.MaxValueBytes);
    }

    /// <summary>Gets or sets the most items one list append may carry; a larger append is refused before anything is stored.</summary>
    /// <value>The default value is 10,000.</value>
    [Range(1, int.MaxValue)]
    public int MaxAppendItems
    {
        get => _maxAppendItems;
        set => Set(ref _maxAppendItems, value, Settings.MaxAppendItems);
    }

    /// <summary>
    /// Gets or sets the expiry of writes that do not give one (see <see cref="StateWriteOptions.TimeToLive"/>), or
    /// <see cref="Timeout.InfiniteTimeSpan"/> for none.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: entries never expire unless a write says so.</value>
    public TimeSpan? DefaultTimeToLive
    {
        get => _defaultTimeToLive;
        set => Set(ref _defaultTimeToLive, value, Settings.DefaultTimeToLive);
    }

    /// <summary>Copies the shared settings of this instance onto <paramref name="target"/>, all of them.</summary>
    /// <param name="target">The options to fill.</param>
    public void CopyTo(StateStoreOptions target)
    {
        ArgumentNullException.ThrowIfNull(target);
        target.KeyPrefix = KeyPrefix;
        target.MaxKeyLength = MaxKeyLength;
        target.MaxValueBytes = MaxValueBytes;
        target.DefaultTimeToLive = DefaultTimeToLive;
        target.MaxAppendItems = MaxAppendItems;
    }

    /// <summary>
    /// Returns the problems of these options, each naming its setting: the DataAnnotations attributes of the whole
    /// type (an adapter's own included), the rules of the shared settings, and <see cref="AddProblems"/>.
    /// </summary>
    /// <param name="path">How the settings are named in the messages, for example <c>StateKit:Redis</c>.</param>
    /// <returns>The problems; empty when the options are usable.</returns>
    public IReadOnlyList<string> Validate(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
        var failures = results.Select(r => $"{path}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}").ToList();
        AddSharedProblems(failures, path);
        AddProblems(failures, path);
        return failures;
    }

    /// <summary>Copies the shared settings that <paramref name="target"/> leaves unset from this instance.</summary>
    /// <param name="target">The adapter's options.</param>
    internal void CopyUnsetTo(StateStoreOptions target)
    {
        if ((target._set & Settings.KeyPrefix) == 0)
        {
            target.KeyPrefix = KeyPrefix;
        }

        if ((target._set & Settings.MaxKeyLength) == 0)
        {
            target.MaxKeyLength = MaxKeyLength;
        }

        if ((target._set & Settings.MaxValueBytes) == 0)
        {
            target.MaxValueBytes = MaxValueBytes;
        }

        if ((target._set & Settings.DefaultTimeToLive) == 0)
        {
            target.DefaultTimeToLive = DefaultTimeToLive;
        }

        if ((target._set & Settings.MaxAppendItems) == 0)
        {
            target.MaxAppendItems = MaxAppendItems;
        }
    }

    /// <summary>Adds the rules of the shared settings that attributes cannot express.</summary>
    /// <param name="failures">The list to add to.</param>
    /// <param name="path">How the settings are named.</param>
    internal void AddSharedProblems(ICollection<string> failures, string path)
    {
        if (KeyPrefix is null || (KeyPrefix.Length > 0 && !StateKeys.IsValid(KeyPrefix, StateKitDefaults.MaxKeyPrefixLength, out _)))
        {
            failures.Add($"{path}:KeyPrefix '{StateKeys.Printable(KeyPrefix)}' must follow the key rules (no control characters, backslash or '.'/'..' segments) and be at most {StateKitDefaults.MaxKeyPrefixLength} characters.");
        }

        if (DefaultTimeToLive is { } ttl && ttl <= TimeSpan.Zero && ttl != Timeout.InfiniteTimeSpan)
        {
            failures.Add($"{path}:DefaultTimeToLive must be positive or Timeout.InfiniteTimeSpan (was {ttl}).");
        }
    }

    /// <summary>Adds an adapter's rules that DataAnnotations attributes cannot express; the base adds none.</summary>
    /// <param name="failures">The list to add to, one message per problem.</param>
    /// <param name="path">How the settings are named, for example <c>StateKit:Redis</c>.</param>
    protected virtual void AddProblems(ICollection<string> failures, string path)
    {
    }

    private void Set<T>(ref T field, T value, Settings setting)
    {
        field = value;
        _set |= setting;
    }
}
