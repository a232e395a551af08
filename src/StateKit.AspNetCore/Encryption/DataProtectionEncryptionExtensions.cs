using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit;
using StateKit.AspNetCore.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Encryption at rest with the keys of ASP.NET Core Data Protection.</summary>
public static class DataProtectionEncryptionExtensions
{
    /// <summary>
    /// Encrypts every value and list item of the chosen store at rest (as <c>UseEncryption</c>) with keys derived from
    /// ASP.NET Core Data Protection's key ring: an app that already keeps its Data Protection keys in files, Redis, Azure
    /// Blob or Key Vault (and shares them between instances) reuses them, and StateKit's key rotates when Data
    /// Protection's does. Each Data Protection key gives the StateKit key <c>dp-{key id}</c> (HKDF-SHA256 of its master
    /// key); older keys stay readable while Data Protection keeps them (it keeps them unless deleted), revoked keys are
    /// read but never used for new writes. Configure Data Protection as usual (<c>services.AddDataProtection()…</c>);
    /// this calls <c>AddDataProtection()</c> in case the app has not.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Reading unencrypted values while migrating.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseDataProtectionEncryption(this StateKitBuilder builder, Action<StateEncryptionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddDataProtection();
        builder.Services.AddOptions<StateEncryptionOptions>(builder.Name)
            .Configure<IServiceProvider>((o, services) => o.KeyRing ??= new DataProtectionKeyRing(
                services.GetRequiredService<IKeyManager>(),
                services.GetRequiredService<IDataProtectionProvider>(),
                services.GetService<TimeProvider>() ?? TimeProvider.System,
                (ILogger?)services.GetService<ILoggerFactory>()?.CreateLogger("StateKit.Encryption") ?? NullLogger.Instance));
        return builder.UseEncryption(configure);
    }
}
