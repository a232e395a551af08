using System.Text.RegularExpressions;

namespace StateKit.Sql;

/// <summary>Checks and quotes configured table and schema names, so that configuration can never inject SQL.</summary>
/// <remarks>Source shared by StateKit.Sqlite and StateKit.Postgres (linked, compiled into each, internal).</remarks>
internal static partial class SqlIdentifiers
{
    /// <summary>The longest accepted name; table suffixes are added to it and PostgreSQL truncates at 63 bytes.</summary>
    public const int MaxLength = 40;

    /// <summary>Returns the problem with a configured name, or <see langword="null"/> when it is acceptable.</summary>
    /// <param name="name">The name.</param>
    /// <param name="what">What the name is, for the message ("StateKit:Store:TablePrefix").</param>
    /// <returns>The problem, or <see langword="null"/>.</returns>
    public static string? Problem(string? name, string what) =>
        name is not null && Pattern().IsMatch(name)
            ? null
            : $"{what} must be 1 to {MaxLength} letters, digits or underscores, starting with a letter or underscore (got '{name}').";

    /// <summary>Throws <see cref="ArgumentException"/> when a configured name is not acceptable.</summary>
    /// <param name="name">The name.</param>
    /// <param name="what">What the name is.</param>
    public static void Validate(string? name, string what)
    {
        if (Problem(name, what) is { } problem)
        {
            throw new ArgumentException(problem, what);
        }
    }

    /// <summary>Quotes a validated name.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The name in double quotes.</returns>
    public static string Quote(string name) => "\"" + name + "\"";

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,39}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
