using Microsoft.Extensions.Options;
using StateKit;

namespace Microsoft.Extensions.DependencyInjection;

/// <content>The encryption stage: <c>UseEncryption</c>.</content>
public static partial class StateKitBuilderExtensions
{
    /// <summary>
    /// Encrypts every value and list item of the chosen store at rest (AES-256-GCM), with the key ring of
    /// <see cref="StateEncryptionOptions.KeyRing"/> (set in code, e.g. by <c>UseDataProtectionEncryption</c> of
    /// <c>StateKit.AspNetCore</c>) or else the keys of <see cref="StateEncryptionOptions.Keys"/>. Options are bound from <c>StateKit:Encryption</c> (a named store's from
    /// <c>StateKit:Stores:{name}:Encryption</c>) when there is configuration, then from <paramref name="configure"/>, and
    /// checked at start-up (naming the option path, never a key). Every copy below it holds ciphertext: the write-behind
    /// journal, fallback mirrors and journals, spill files and the backend. Its state is <see cref="IStateEncryptionStatus"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Keys, the current key id, reading unencrypted values while migrating.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseEncryption(this StateKitBuilder builder, Action<StateEncryptionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var name = builder.Name;
        var path = StateKitOptions.SectionPathOf(name) + ":Encryption";
        var options = builder.BindOptions<StateEncryptionOptions>("Encryption", name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.AddSingleton<IValidateOptions<StateEncryptionOptions>>(new StateKit.Internal.LayerOptionsValidator<StateEncryptionOptions>(name, path, o => o.KeyRing is null ? StateEncryptionKeyRing.Problems(o, path) : []));
        options.ValidateOnStart();
        return builder.AddLayer(StateStoreStage.Encryption, "encryption", EncryptingStateStore.Layer(context =>
        {
            var options = context.Services.GetRequiredService<IOptionsMonitor<StateEncryptionOptions>>().Get(name);
            return (options.KeyRing ?? StateEncryptionKeyRing.FromOptions(options, path), options);
        }));
    }
}
