using StateKit;
using StateKit.File;
using StateKit.File.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Selects the file-system store on a <see cref="StateKitBuilder"/>.</summary>
public static class FileStateKitBuilderExtensions
{
    /// <summary>Stores state in files under <paramref name="rootPath"/> (crash-safe, shareable between processes).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="rootPath">The root directory; created when missing.</param>
    /// <param name="configure">Optional file store settings (lock timeout, and shared settings that override the <c>StateKit</c> ones).</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseFileSystem(this StateKitBuilder builder, string rootPath, Action<FileStateStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(rootPath);
        if (configure is not null)
        {
            builder.Services.Configure(builder.Name, configure);
        }

        return builder.UseStore<FileStateStoreFactory>(FileStateStoreFactory.Type, o => o.Store.Path = rootPath);
    }
}
