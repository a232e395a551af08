namespace StateKit.AspNetCore;

/// <summary>Options of the State Explorer page (<see cref="StateKitExplorerExtensions.MapStateKitExplorer"/>).</summary>
public sealed class StateKitExplorerOptions
{
    /// <summary>
    /// Gets or sets the name of the authorization policy every page and API request of the Explorer must satisfy.
    /// Required outside the Development environment: mapping the Explorer without one there throws at start-up.
    /// </summary>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether the Explorer only shows state: restoring and forking checkpoints is
    /// refused (HTTP 403) and the page shows no such buttons.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ReadOnly { get; set; }

    /// <summary>Gets or sets the most scopes or keys one listing returns; the page asks for more with a filter.</summary>
    /// <value>The default value is 500.</value>
    public int MaxListed { get; set; } = 500;
}
