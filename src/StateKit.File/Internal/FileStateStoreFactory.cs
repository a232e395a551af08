using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

[assembly: StateKit.StateStoreFactory(typeof(StateKit.File.Internal.FileStateStoreFactory))]

namespace StateKit.File.Internal;

/// <summary>Creates the file store for <c>StateKit:Store:Type = file</c> (<c>StateKit:Store:Path</c> is the root directory).</summary>
internal sealed class FileStateStoreFactory : StateStoreFactory<FileStateStoreOptions>
{
    public const string Type = "file";

    public override string StoreType => Type;

    protected override void Complete(FileStateStoreOptions storeOptions, StateKitOptions options)
    {
        if (string.IsNullOrWhiteSpace(storeOptions.RootPath))
        {
            storeOptions.RootPath = options.Store.Path;
        }
    }

    protected override string? Missing(FileStateStoreOptions storeOptions) =>
        string.IsNullOrWhiteSpace(storeOptions.RootPath)
            ? "StateKit:Store:Path is required for the file store: set it to the root directory (UseFileSystem(path))."
            : null;

    protected override IStateStore Create(IServiceProvider services, FileStateStoreOptions storeOptions) =>
        new FileStateStore(storeOptions, services.GetService<TimeProvider>(), services.GetService<ILogger<FileStateStore>>());
}
