using System.Security.Claims;

namespace StateKit;

/// <summary>Checks values of one type before the provider writes them. Register as <c>IStateValidator&lt;T&gt;</c> in DI.</summary>
/// <typeparam name="T">The value type.</typeparam>
public interface IStateValidator<in T>
{
    /// <summary>Returns the problems with <paramref name="value"/>; none means it may be written.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value about to be written.</param>
    /// <returns>The problems, in words a user can act on.</returns>
    IEnumerable<string> Validate(StateScope scope, string key, T value);
}

/// <summary>What kind of change the provider reports to <see cref="IStateAuditSink"/>.</summary>
public enum StateChangeKind
{
    /// <summary>A value was written.</summary>
    Set,

    /// <summary>A value was deleted.</summary>
    Delete,

    /// <summary>Items were appended to a list.</summary>
    ListAppend,

    /// <summary>A list was trimmed or deleted.</summary>
    ListRemove,

    /// <summary>A scope was restored from a checkpoint.</summary>
    Restore,
}

/// <summary>One change, as reported to <see cref="IStateAuditSink"/>.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Scope">The scope.</param>
/// <param name="Key">The key (or list key; the checkpoint id for a restore).</param>
/// <param name="OldVersion">The version before (0 = none), for values.</param>
/// <param name="NewVersion">The version after (0 = deleted), for values; the new length for lists.</param>
/// <param name="Principal">Who made the change, when known.</param>
/// <param name="Time">When.</param>
public sealed record StateChange(StateChangeKind Kind, StateScope Scope, string Key, long OldVersion, long NewVersion, string? Principal, DateTimeOffset Time);

/// <summary>Receives every change the provider makes. Register any number in DI; they run in order after each change.</summary>
public interface IStateAuditSink
{
    /// <summary>Records a change.</summary>
    /// <param name="change">The change.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>A task.</returns>
    ValueTask OnChangeAsync(StateChange change, CancellationToken cancellationToken);
}

/// <summary>Whether an access reads or writes.</summary>
public enum StateAccess
{
    /// <summary>A read.</summary>
    Read,

    /// <summary>A write (set, update, delete, append, trim, checkpoint, restore).</summary>
    Write,
}

/// <summary>Decides whether the current principal may read or write a scope. Register in DI; every registered one must allow.</summary>
public interface IStateAuthorizer
{
    /// <summary>Decides.</summary>
    /// <param name="principal">The principal, when known (see <see cref="IStatePrincipalAccessor"/>).</param>
    /// <param name="access">Read or write.</param>
    /// <param name="scope">The scope.</param>
    /// <param name="key">The key, or <see langword="null"/> for whole-scope operations.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns><see langword="true"/> to allow.</returns>
    ValueTask<bool> AuthorizeAsync(ClaimsPrincipal? principal, StateAccess access, StateScope scope, string? key, CancellationToken cancellationToken);
}

/// <summary>Supplies the principal of the current operation (for example the HTTP request's user).</summary>
public interface IStatePrincipalAccessor
{
    /// <summary>Gets the current principal, if any.</summary>
    ClaimsPrincipal? Principal { get; }
}

