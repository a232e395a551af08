using System.Text;
using System.Text.Json;
using StateKit.Serialization;

namespace StateKit.Internal;

/// <summary>Shows stored bytes to a person (the statekit tool, the State Explorer): a StateKit envelope decoded as JSON, plain JSON or text as it is, anything else as base64.</summary>
internal static class StoredValueText
{
    private static readonly StateValueCodec Codec = new();
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Describes a value.</summary>
    /// <param name="bytes">The stored bytes.</param>
    /// <param name="key">The key, for messages.</param>
    /// <returns>The text and how it was read (<c>json</c>, <c>text</c>, <c>base64</c>).</returns>
    public static (string Text, string Encoding) Describe(ReadOnlyMemory<byte> bytes, string key) =>
        TryJson(bytes, key) is { } element ? (JsonSerializer.Serialize(element, Indented), "json") : Plain(bytes);

    /// <summary>A value for machine output: its JSON, or a string holding text or base64.</summary>
    /// <param name="bytes">The stored bytes.</param>
    /// <param name="key">The key.</param>
    /// <returns>The JSON element, or a string holding text or base64.</returns>
    public static object Json(ReadOnlyMemory<byte> bytes, string key) =>
        TryJson(bytes, key) is { } element ? element : Plain(bytes).Text;

    /// <summary>The value as JSON: a StateKit envelope decoded, or plain JSON as it is; <see langword="null"/> otherwise.</summary>
    private static JsonElement? TryJson(ReadOnlyMemory<byte> bytes, string key)
    {
        if (bytes.Length >= StateValueCodec.HeaderSize && bytes.Span[0] == 0xA7)
        {
            try
            {
                return Codec.Decode<JsonElement>(bytes.Span, key);
            }
            catch (StateCorruptedException)
            {
                // Not JSON inside (another serializer) or damaged: shown as bytes; verify tells which.
            }
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static (string Text, string Encoding) Plain(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            return (new UTF8Encoding(false, true).GetString(bytes.Span), "text");
        }
        catch (DecoderFallbackException)
        {
            return (Convert.ToBase64String(bytes.Span), "base64");
        }
    }
}
