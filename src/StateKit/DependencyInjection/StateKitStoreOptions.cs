namespace StateKit;

/// <summary>Which backend <c>AddStateKit()</c> uses (<c>StateKit:Store</c> in configuration).</summary>
public sealed class StateKitStoreOptions
{
    /// <summary>Gets or sets the backend: <c>memory</c>, <c>file</c> (package StateKit.File), or the type of a registered <see cref="IStateStoreFactory"/>.</summary>
    /// <value>The default value is <c>memory</c>.</value>
    public string Type
    {
        get => _type;
        set
        {
            _type = value;
            TypeChosen = true;
        }
    }

    /// <summary>Gets whether <see cref="Type"/> was set (in code or configuration), rather than left at its default.</summary>
    internal bool TypeChosen { get; private set; }

    private string _type = StateKitDefaults.StoreType;

    /// <summary>Gets or sets the directory (file store) or database file (SQLite) of a file-based backend.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Path { get; set; }

    /// <summary>Gets or sets the connection string of a server backend. Never written to logs or error messages.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? ConnectionString { get; set; }
}
