using StateKit;
using StateKit.File.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Selects the file-system store on a <see cref="StateKitBuilder"/>.</summary>
public static class FileStateKitBuilderExtensions
{
    /// <summary>Stores state in files under <paramref name="rootPath"/> (crash-safe, shareable between processes).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="rootPath">The root directory; created when missing.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseFileSystem(this StateKitBuilder builder, string rootPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootPath);
        return builder.UseStore<FileStateStoreFactory>(FileStateStoreFactory.Type, o => o.Store.Path = rootPath);
    }
}
