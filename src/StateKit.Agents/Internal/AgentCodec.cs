using Microsoft.Extensions.AI;
using StateKit.Serialization;

namespace StateKit.Agents.Internal;

/// <summary>
/// The codec of everything StateKit.Agents stores: StateKit's envelope (checksum, compression) around System.Text.Json
/// with Microsoft.Extensions.AI's options, which know every <see cref="AIContent"/> kind. It does not depend on the
/// application's serializer, so an app that stores its own state as MessagePack keeps agent state readable.
/// </summary>
internal static class AgentCodec
{
    public static StateValueCodec Create(StateEnvelopeOptions? envelope) => new(new JsonStateSerializer(AIJsonUtilities.DefaultOptions), envelope);
}
