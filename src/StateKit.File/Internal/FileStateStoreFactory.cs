using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StateKit.File.Internal;

/// <summary>Creates the file store for <c>StateKit:Store:Type = file</c> (<c>StateKit:Store:Path</c> is the root directory).</summary>
internal sealed class FileStateStoreFactory : IStateStoreFactory
{
    public const string Type = "file";

    public string StoreType => Type;

    public IEnumerable<string> Validate(StateKitOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Store.Path))
        {
            yield return "StateKit:Store:Path is required for the file store: set it to the root directory (UseFileSystem(path)).";
        }
    }

    public IStateStore Create(IServiceProvider services, StateKitOptions options)
    {
        var fileOptions = new FileStateStoreOptions { RootPath = options.Store.Path };
        options.CopyTo(fileOptions);
        return new FileStateStore(fileOptions, services.GetService<TimeProvider>(), services.GetService<ILogger<FileStateStore>>());
    }
}
