using System.Text.Json;
using Spectre.Console;
using StateKit.Tool;

namespace StateKit.Tests.Tool;

/// <summary>
/// A store of one kind described by an appsettings.json file, as the app would configure it (so the tool opens it the
/// way a user does), with its own key prefix; removed with everything in it on dispose.
/// </summary>
internal sealed class ToolStore : IAsyncDisposable
{
    private readonly string _directory;
    private readonly Func<Task> _cleanup;

    private ToolStore(string kind, string directory, string configPath, Func<Task> cleanup)
    {
        Kind = kind;
        _directory = directory;
        ConfigPath = configPath;
        _cleanup = cleanup;
    }

    /// <summary>Gets the store kind.</summary>
    public string Kind { get; }

    /// <summary>Gets the configuration file: the tool's store argument.</summary>
    public string ConfigPath { get; }

    /// <summary>Gets the StateKit section written to the file.</summary>
    public IReadOnlyDictionary<string, object> Settings { get; private init; } = new Dictionary<string, object>();

    /// <summary>Writes another configuration file for the same data with other settings (for example without its layers).</summary>
    /// <param name="change">Changes the StateKit section.</param>
    /// <returns>The file's path.</returns>
    public string Variant(Action<Dictionary<string, object>> change)
    {
        var section = new Dictionary<string, object>(Settings);
        change(section);
        var path = Path.Combine(_directory, $"appsettings.{Guid.NewGuid():N}.json");
        System.IO.File.WriteAllText(path, JsonSerializer.Serialize(new { StateKit = section }));
        return path;
    }

    /// <summary>Creates a store of <paramref name="kind"/>: file, sqlite, postgres, redis or redis-cluster.</summary>
    /// <param name="kind">The store kind.</param>
    /// <param name="layers">More settings of the StateKit section (layers: <c>Encryption</c>, <c>L1</c>…).</param>
    public static ToolStore Create(string kind, IReadOnlyDictionary<string, object>? layers = null)
    {
        var id = Guid.NewGuid().ToString("N")[..10];
        var directory = Directory.CreateTempSubdirectory("statekit-tool-").FullName;
        Dictionary<string, object> store;
        Func<Task> cleanup = () => Task.CompletedTask;
        switch (kind)
        {
            case "file":
                store = new() { ["Type"] = "file", ["Path"] = Path.Combine(directory, "state") };
                break;
            case "sqlite":
                store = new() { ["Type"] = "sqlite", ["ConnectionString"] = "Data Source=" + Path.Combine(directory, "state.db") };
                cleanup = () =>
                {
                    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                    return Task.CompletedTask;
                };
                break;
            case "postgres":
                var schema = "sk_tool_" + id;
                store = new() { ["Type"] = "postgres", ["ConnectionString"] = TestServers.Postgres, ["Schema"] = schema };
                cleanup = () => TestServers.DropSchemaAsync(schema);
                break;
            case "redis" or "redis-cluster":
                var cluster = kind == "redis-cluster";
                var redisPrefix = "sktest-tool-" + id;
                store = new() { ["Type"] = "redis", ["ConnectionString"] = cluster ? TestServers.RedisCluster : TestServers.Redis, ["RedisKeyPrefix"] = redisPrefix };
                cleanup = () => TestServers.DeleteRedisKeysAsync(redisPrefix, cluster);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown store kind");
        }

        var configPath = Path.Combine(directory, "appsettings.json");
        var section = new Dictionary<string, object> { ["KeyPrefix"] = "t" + id, ["Store"] = store };
        foreach (var (name, value) in layers ?? new Dictionary<string, object>())
        {
            section[name] = value;
        }

        System.IO.File.WriteAllText(configPath, JsonSerializer.Serialize(new { StateKit = section }));
        return new ToolStore(kind, directory, configPath, cleanup) { Settings = section };
    }

    /// <summary>Opens the store in-process (as an app instance would), for seeding and checking.</summary>
    public Task<OpenedStore> OpenAsync() => StoreOpener.OpenAsync(ConfigPath, "StateKit", null, CancellationToken.None);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _cleanup();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>Runs the tool in-process, as a user's command line, capturing what it prints.</summary>
internal static class ToolRun
{
    /// <summary>Runs <c>statekit</c> with <paramref name="args"/>.</summary>
    public static async Task<(int Exit, string Output, string Errors)> RunAsync(params string[] args) => await RunAsync(CancellationToken.None, args);

    /// <summary>Runs <c>statekit</c> with <paramref name="args"/> until done or cancelled.</summary>
    public static async Task<(int Exit, string Output, string Errors)> RunAsync(CancellationToken cancellationToken, params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var exit = await ToolApp.RunAsync(args, Console(output), Console(errors), cancellationToken);
        return (exit, output.ToString(), errors.ToString());
    }

    /// <summary>The lines of a JSON-lines output, parsed.</summary>
    public static List<JsonElement> JsonLines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static IAnsiConsole Console(TextWriter writer) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(writer),
        Interactive = InteractionSupport.No,
        Ansi = AnsiSupport.No,
        ColorSystem = ColorSystemSupport.NoColors,
    });
}
