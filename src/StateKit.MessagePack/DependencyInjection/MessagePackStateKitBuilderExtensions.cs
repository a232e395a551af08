using MessagePack;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StateKit;
using StateKit.Serialization;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Selects the MessagePack serializer on a <see cref="StateKitBuilder"/>.</summary>
public static class MessagePackStateKitBuilderExtensions
{
    /// <summary>
    /// Serializes typed state with MessagePack instead of System.Text.Json (<see cref="MessagePackStateSerializer"/>).
    /// Values written in JSON before the switch are refused as corrupted: switch on new data, or migrate.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="options">The MessagePack options; <see cref="MessagePackStateSerializer.DefaultOptions"/> (untrusted-data mode) when <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseMessagePack(this StateKitBuilder builder, MessagePackSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IStateSerializer>(new MessagePackStateSerializer(options)));
        return builder;
    }
}
