using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

[assembly: StateKit.StateStoreFactory(typeof(StateKit.File.Internal.FileStateStoreFactory))]

namespace StateKit.File.Internal;

/// <summary>Creates the file store for <c>StateKit:Store:Type = file</c> (<c>StateKit:Store:Path</c> is the root directory).</summary>
internal sealed class FileStateStoreFactory : IStateStoreFactory
{
    public const string Type = "file";

    public string StoreType => Type;

    public IEnumerable<string> Validate(IServiceProvider services, StateKitOptions options)
    {
        var fileOptions = CreateOptions(services, options);
        if (string.IsNullOrWhiteSpace(fileOptions.RootPath))
        {
            yield return "StateKit:Store:Path is required for the file store: set it to the root directory (UseFileSystem(path)).";
            yield break;
        }

        foreach (var problem in fileOptions.Validate(nameof(FileStateStoreOptions)))
        {
            yield return problem;
        }
    }

    public IStateStore Create(IServiceProvider services, StateKitOptions options) =>
        new FileStateStore(CreateOptions(services, options), services.GetService<TimeProvider>(), services.GetService<ILogger<FileStateStore>>());

    private static FileStateStoreOptions CreateOptions(IServiceProvider services, StateKitOptions options)
    {
        var fileOptions = options.CreateStoreOptions<FileStateStoreOptions>(services);
        if (string.IsNullOrWhiteSpace(fileOptions.RootPath))
        {
            fileOptions.RootPath = options.Store.Path;
        }

        return fileOptions;
    }
}
