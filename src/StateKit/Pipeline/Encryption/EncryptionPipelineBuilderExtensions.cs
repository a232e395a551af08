namespace StateKit;

/// <content>The encryption stage: <c>UseEncryption</c>.</content>
public static partial class StateStorePipelineBuilderExtensions
{
    /// <summary>
    /// Puts encryption at rest at <see cref="StateStoreStage.Encryption"/>: every value and list item is sealed with
    /// AES-256-GCM under the current key of <see cref="StateEncryptionOptions.KeyRing"/> (or of <see cref="StateEncryptionOptions.Keys"/>) before it reaches the layers below (journal, mirrors,
    /// spill files, backend) and opened with the key its header names. Its state is <see cref="IStateEncryptionStatus"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">The key ring (or keys) and reading unencrypted values while migrating.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">No key ring is set and the keys are missing or not valid (the message names the option, never a key).</exception>
    public static StateStorePipelineBuilder UseEncryption(this StateStorePipelineBuilder builder, Action<StateEncryptionOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = Options(configure, "Encryption");
        var ring = options.KeyRing ?? StateEncryptionKeyRing.FromOptions(options, "Encryption");
        return builder.Use(StateStoreStage.Encryption, "encryption", EncryptingStateStore.Layer(_ => (ring, options)));
    }
}
