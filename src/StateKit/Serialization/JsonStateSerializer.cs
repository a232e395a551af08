using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace StateKit.Serialization;

/// <summary>The default <see cref="IStateSerializer"/>, on System.Text.Json.</summary>
/// <remarks>
/// For trimming and native AOT, pass options whose <see cref="JsonSerializerOptions.TypeInfoResolver"/> is a
/// source-generated <c>JsonSerializerContext</c>: every type is then resolved through its <see cref="JsonTypeInfo"/>.
/// </remarks>
public sealed class JsonStateSerializer : IStateSerializer
{
    /// <summary>The format id of JSON payloads.</summary>
    public const byte JsonFormatId = 1;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private readonly JsonSerializerOptions _options;

    /// <summary>Initializes a new instance of the <see cref="JsonStateSerializer"/> class.</summary>
    /// <param name="options">The serializer options; web defaults (camelCase, case-insensitive) when <see langword="null"/>.</param>
    public JsonStateSerializer(JsonSerializerOptions? options = null)
    {
        _options = options ?? new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
        _options.MakeReadOnly(populateMissingResolver: true);
    }

    /// <summary>Initializes a new instance of the <see cref="JsonStateSerializer"/> class with a (source-generated) resolver.</summary>
    /// <param name="resolver">The type info resolver, for example a <c>JsonSerializerContext</c>.</param>
    public JsonStateSerializer(IJsonTypeInfoResolver resolver)
        : this(new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = resolver ?? throw new ArgumentNullException(nameof(resolver)) })
    {
    }

    /// <inheritdoc />
    public byte FormatId => JsonFormatId;

    /// <summary>Gets the options in use (read-only).</summary>
    public JsonSerializerOptions Options => _options;

    /// <inheritdoc />
    public void Serialize<T>(IBufferWriter<byte> destination, T value)
    {
        ArgumentNullException.ThrowIfNull(destination);

        // A writer per thread, reset onto each destination (as JsonSerializer pools its own): no allocation per call.
        var writer = t_writer;
        t_writer = null;
        if (writer is null)
        {
            writer = new Utf8JsonWriter(destination);
        }
        else
        {
            writer.Reset(destination);
        }

        try
        {
            JsonSerializer.Serialize(writer, value, TypeInfo<T>());
            writer.Flush();
        }
        finally
        {
            writer.Reset(Stream.Null); // keeps no reference to the caller's buffer
            t_writer = writer;
        }
    }

    /// <inheritdoc />
    public T? Deserialize<T>(ReadOnlySpan<byte> source) => JsonSerializer.Deserialize(source, TypeInfo<T>());

    private JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)_options.GetTypeInfo(typeof(T));
}
