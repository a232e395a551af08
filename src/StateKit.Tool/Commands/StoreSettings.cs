using System.ComponentModel;
using Spectre.Console.Cli;

namespace StateKit.Tool.Commands;

/// <summary>The options every command that opens one store has.</summary>
internal class StoreSettings : CommandSettings
{
    /// <summary>Gets or sets the store: <c>TYPE:CONNECTION</c> or a configuration file (<c>appsettings.json[#name]</c>).</summary>
    [CommandOption("-s|--store <STORE>")]
    [Description("TYPE:CONNECTION (memory:, file:PATH, sqlite:CONNECTION, postgres:CONNECTION, redis:CONFIGURATION) or the app's appsettings.json[[#name]]. Default: $STATEKIT_STORE, else ./appsettings.json.")]
    public string? Store { get; set; }

    /// <summary>Gets or sets the configuration section StateKit reads.</summary>
    [CommandOption("--section <SECTION>")]
    [Description("The configuration section StateKit is bound from.")]
    [DefaultValue("StateKit")]
    public string Section { get; set; } = "StateKit";

    /// <summary>Gets or sets a key prefix that replaces the configured one.</summary>
    [CommandOption("--key-prefix <PREFIX>")]
    [Description("The store's key prefix (StateKit:KeyPrefix), when not the configured one.")]
    public string? KeyPrefix { get; set; }

    /// <summary>Gets or sets a value indicating whether results are written as JSON.</summary>
    [CommandOption("--json")]
    [Description("Write results as JSON (one object per line for lists of rows).")]
    public bool Json { get; set; }

    /// <summary>Opens the store these options name.</summary>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The store.</returns>
    public Task<OpenedStore> OpenAsync(CancellationToken cancellationToken) =>
        StoreOpener.OpenAsync(DefaultStore(Store), Section, KeyPrefix, cancellationToken);

    /// <summary>The store argument, or its default: <c>$STATEKIT_STORE</c>, else <c>appsettings.json</c> in the current directory.</summary>
    /// <param name="given">The argument given, if any.</param>
    /// <returns>The store argument.</returns>
    public static string DefaultStore(string? given) =>
        given ?? Environment.GetEnvironmentVariable("STATEKIT_STORE")
        ?? (System.IO.File.Exists("appsettings.json") ? "appsettings.json" : string.Empty);
}

/// <summary>Options of a command on a scope.</summary>
internal class ScopeSettings : StoreSettings
{
    /// <summary>Gets or sets the scope.</summary>
    [CommandOption("--scope <SCOPE>")]
    [Description("The scope: global, local:ID, shared:ID, session:ID or persistent:ID.")]
    public string? Scope { get; set; }

    /// <summary>The parsed scope.</summary>
    /// <returns>The scope.</returns>
    public StateScope ParsedScope() => StateScope.Parse(Scope ?? throw new ToolException(ExitCodes.Usage, "--scope is required (global, local:ID, shared:ID, session:ID or persistent:ID)."));
}
