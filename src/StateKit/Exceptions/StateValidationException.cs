using StateKit.Adapters;

namespace StateKit;

/// <summary>A value was rejected by an <see cref="IStateValidator{T}"/>; nothing was written.</summary>
public sealed class StateValidationException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="StateValidationException"/> class.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key.</param>
    /// <param name="problems">The problems.</param>
    public StateValidationException(StateScope scope, string key, IReadOnlyList<string> problems)
        : base($"The value for '{StateKeys.Printable(key)}' in {scope} was rejected and not written: {string.Join("; ", problems)}")
    {
        Scope = scope;
        Key = key;
        Problems = problems;
    }

    /// <summary>Gets the scope.</summary>
    public StateScope Scope { get; }

    /// <summary>Gets the key.</summary>
    public string Key { get; }

    /// <summary>Gets the problems.</summary>
    public IReadOnlyList<string> Problems { get; }
}
