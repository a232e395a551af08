using StateKit.Adapters;

namespace StateKit;

/// <summary>An <see cref="IStateAuthorizer"/> refused the operation; nothing was read or written.</summary>
public sealed class StateAccessDeniedException : UnauthorizedAccessException
{
    /// <summary>Initializes a new instance of the <see cref="StateAccessDeniedException"/> class.</summary>
    /// <param name="access">The access.</param>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key, if any.</param>
    /// <param name="principal">The principal's name, if known.</param>
    public StateAccessDeniedException(StateAccess access, StateScope scope, string? key, string? principal)
        : base($"{(principal is null ? "The anonymous caller" : $"'{principal}'")} may not {(access == StateAccess.Read ? "read" : "write")} {(key is null ? string.Empty : $"'{StateKeys.Printable(key)}' in ")}{scope}.")
    {
        Access = access;
        Scope = scope;
        Key = key;
    }

    /// <summary>Gets the refused access.</summary>
    public StateAccess Access { get; }

    /// <summary>Gets the scope.</summary>
    public StateScope Scope { get; }

    /// <summary>Gets the key, if any.</summary>
    public string? Key { get; }
}
