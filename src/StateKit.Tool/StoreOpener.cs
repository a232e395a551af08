using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Tool;

/// <summary>A store the tool opened: the pipeline the app's configuration builds, its provider, and the container that owns them.</summary>
internal sealed class OpenedStore : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    /// <summary>Initializes a new instance of the <see cref="OpenedStore"/> class.</summary>
    public OpenedStore(ServiceProvider services, string name, string description)
    {
        _services = services;
        Description = description;
        Store = name.Length == 0 ? services.GetRequiredService<IStateStore>() : services.GetRequiredKeyedService<IStateStore>(name);
        Provider = name.Length == 0 ? services.GetRequiredService<IStateProvider>() : services.GetRequiredKeyedService<IStateProvider>(name);
    }

    /// <summary>Gets the store (the whole pipeline: encryption decodes, L1 and write-behind behave as in the app).</summary>
    public IStateStore Store { get; }

    /// <summary>Gets the typed provider on the store.</summary>
    public IStateProvider Provider { get; }

    /// <summary>Gets what was opened, without secrets (type and pipeline).</summary>
    public string Description { get; }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _services.DisposeAsync();
}

/// <summary>
/// Opens a store from a store argument: <c>TYPE:CONNECTION</c> (<c>sqlite:Data Source=app.db</c>, <c>file:./state</c>,
/// <c>postgres:Host=…</c>, <c>redis:localhost:6379</c>, <c>memory:</c>) or the app's own configuration file
/// (<c>appsettings.json</c>, or <c>appsettings.json#name</c> for a named store), read with environment variables on top
/// as the app reads them.
/// </summary>
internal static class StoreOpener
{
    /// <summary>Opens the store and checks that it answers.</summary>
    /// <param name="spec">The store argument.</param>
    /// <param name="section">The configuration section StateKit reads (normally <c>StateKit</c>).</param>
    /// <param name="keyPrefix">A key prefix that replaces the configured one, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>The opened store.</returns>
    /// <exception cref="ToolException">The argument is malformed, the file is missing, or the store cannot be opened or reached.</exception>
    public static async Task<OpenedStore> OpenAsync(string spec, string section, string? keyPrefix, CancellationToken cancellationToken)
    {
        var (configuration, name, description) = Configure(spec, section, keyPrefix);
        var services = new ServiceCollection();
        services.AddStateKit(configuration.GetSection(section));
        var provider = services.BuildServiceProvider();
        OpenedStore opened;
        try
        {
            opened = new OpenedStore(provider, name, description);
        }
        catch (Exception ex) when (ex is InvalidOperationException or StateStoreException or ArgumentException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            await provider.DisposeAsync().ConfigureAwait(false);
            throw new ToolException(ExitCodes.Store, $"the store '{description}' cannot be opened: {ex.Message}");
        }

        try
        {
            // One read, so a wrong address or password fails here with the backend's words, not midway through a command.
            await opened.Store.ExistsAsync("statekit-tool-probe", cancellationToken).ConfigureAwait(false);
        }
        catch (StateStoreException ex)
        {
            await opened.DisposeAsync().ConfigureAwait(false);
            throw new ToolException(ExitCodes.Store, $"the store '{description}' cannot be reached: {ex.Message}");
        }

        return opened;
    }

    /// <summary>Builds the configuration a store argument stands for.</summary>
    internal static (IConfiguration Configuration, string Name, string Description) Configure(string spec, string section, string? keyPrefix)
    {
        if (string.IsNullOrWhiteSpace(spec))
        {
            throw new ToolException(ExitCodes.Usage, "no store given: use --store TYPE:CONNECTION (for example sqlite:Data Source=app.db) or --store appsettings.json[#name].");
        }

        var builder = new ConfigurationBuilder();
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        string name;
        string description;
        var hash = spec.LastIndexOf('#');
        var file = hash > 0 ? spec[..hash] : spec;
        if (file.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            name = hash > 0 ? spec[(hash + 1)..] : string.Empty;
            var path = Path.GetFullPath(file);
            if (!System.IO.File.Exists(path))
            {
                throw new ToolException(ExitCodes.Store, $"the configuration file '{path}' does not exist.");
            }

            builder.AddJsonFile(path, optional: false, reloadOnChange: false).AddEnvironmentVariables();
            description = name.Length == 0 ? Path.GetFileName(path) : $"{Path.GetFileName(path)}#{name}";
        }
        else
        {
            var colon = spec.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new ToolException(ExitCodes.Usage, $"'{spec}' is not a store: use TYPE:CONNECTION (memory:, file:PATH, sqlite:CONNECTION STRING, postgres:CONNECTION STRING, redis:CONFIGURATION) or a configuration file ending in .json.");
            }

            name = string.Empty;
            var type = spec[..colon].Trim();
            var connection = spec[(colon + 1)..];
            values[$"{section}:Store:Type"] = type;
            if (type.Equals("file", StringComparison.OrdinalIgnoreCase))
            {
                values[$"{section}:Store:Path"] = connection;
            }
            else if (connection.Length > 0)
            {
                values[$"{section}:Store:ConnectionString"] = connection;
            }

            description = type.ToLowerInvariant();
        }

        if (keyPrefix is not null)
        {
            values[name.Length == 0 ? $"{section}:KeyPrefix" : $"{section}:Stores:{name}:KeyPrefix"] = keyPrefix;
        }

        builder.AddInMemoryCollection(values);
        var configuration = builder.Build();
        if (name.Length > 0 && !configuration.GetSection($"{section}:Stores:{name}").Exists())
        {
            throw new ToolException(ExitCodes.Store, $"the configuration has no store named '{name}' (no section {section}:Stores:{name}).");
        }

        if (name.Length == 0 && !configuration.GetSection(section).Exists())
        {
            throw new ToolException(ExitCodes.Store, $"the configuration has no '{section}' section.");
        }

        return (configuration, name, description);
    }
}
