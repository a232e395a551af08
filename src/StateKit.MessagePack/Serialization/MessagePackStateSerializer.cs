using System.Buffers;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace StateKit.Serialization;

/// <summary>
/// An <see cref="IStateSerializer"/> on MessagePack: smaller payloads and faster reads and writes than JSON for most
/// state. It goes inside StateKit's envelope like JSON does, so the checksum and the optional compression still apply.
/// </summary>
/// <remarks>
/// <para>
/// The default options read both contractless types (public properties keyed by name, records included) and types
/// marked <c>[MessagePackObject]</c>, with <see cref="MessagePackSecurity.UntrustedData"/>: state read back from a
/// shared store is treated as untrusted input (collision-resistant hashing, a bounded object graph depth).
/// MessagePack's own LZ4 compression is left off: the envelope compresses.
/// </para>
/// <para>
/// A value written in another format (JSON, say) is refused by the codec as <see cref="StateCorruptedException"/>: switch
/// serializers on new data, or migrate. Bytes MessagePack cannot read are reported the same way.
/// </para>
/// </remarks>
public sealed class MessagePackStateSerializer : IStateSerializer
{
    /// <summary>The format id of MessagePack payloads.</summary>
    public const byte MessagePackFormatId = 2;

    /// <summary>Initializes a new instance of the <see cref="MessagePackStateSerializer"/> class.</summary>
    /// <param name="options">The MessagePack options; <see cref="DefaultOptions"/> when <see langword="null"/>.</param>
    public MessagePackStateSerializer(MessagePackSerializerOptions? options = null) => Options = options ?? DefaultOptions;

    /// <summary>
    /// Gets the default options: <see cref="ContractlessStandardResolver"/> (attributed and contractless types; StateKit's
    /// own non-public records, such as session records, too) with
    /// <see cref="MessagePackSecurity.UntrustedData"/> and no MessagePack compression.
    /// </summary>
    public static MessagePackSerializerOptions DefaultOptions { get; } =
        MessagePackSerializerOptions.Standard.WithResolver(StateKitResolver.Instance).WithSecurity(MessagePackSecurity.UntrustedData).WithCompression(MessagePackCompression.None);

    /// <inheritdoc />
    public byte FormatId => MessagePackFormatId;

    /// <summary>Gets the options in use.</summary>
    public MessagePackSerializerOptions Options { get; }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">MessagePack cannot serialize <typeparamref name="T"/> (for example a
    /// non-public type without a formatter), as System.Text.Json reports a type it cannot handle.</exception>
    public void Serialize<T>(IBufferWriter<byte> destination, T value)
    {
        ArgumentNullException.ThrowIfNull(destination);
        try
        {
            MessagePackSerializer.Serialize(destination, value, Options);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new NotSupportedException($"MessagePack cannot serialize {typeof(T).FullName}: {ex.GetBaseException().Message}", ex);
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The bytes are not a MessagePack value of <typeparamref name="T"/>.</exception>
    public unsafe T? Deserialize<T>(ReadOnlySpan<byte> source)
    {
        // MessagePack reads from memory, not spans: the span is pinned and read in place, never copied.
        fixed (byte* pointer = source)
        {
            using var memory = new PinnedMemory(pointer, source.Length);
            try
            {
                return MessagePackSerializer.Deserialize<T>(memory.Memory, Options);
            }
            catch (MessagePackSerializationException ex)
            {
                throw new InvalidDataException($"The MessagePack payload is not a valid {typeof(T).Name}: {ex.Message}", ex);
            }
        }
    }

    /// <summary>
    /// Contractless resolution, which needs public types; StateKit's own records (session records, checkpoints) are
    /// internal, so the types of StateKit's assembly are resolved allowing non-public ones.
    /// </summary>
    private sealed class StateKitResolver : IFormatterResolver
    {
        public static readonly StateKitResolver Instance = new();

        public IMessagePackFormatter<T>? GetFormatter<T>() => Cache<T>.Formatter;

        private static class Cache<T>
        {
            public static readonly IMessagePackFormatter<T>? Formatter = typeof(T).Assembly == typeof(IStateStore).Assembly && !typeof(T).IsVisible
                ? ContractlessStandardResolverAllowPrivate.Instance.GetFormatter<T>()
                : ContractlessStandardResolver.Instance.GetFormatter<T>();
        }
    }

    /// <summary>Memory over a pinned span, valid only while it stays pinned (one synchronous call).</summary>
    private sealed unsafe class PinnedMemory(byte* pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(pointer, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
