using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using StateKit.Serialization;

namespace StateKit;

/// <summary>
/// A type stored around a state of type <typeparamref name="TInner"/> in its <c>State</c> member (a session record):
/// it is stored with the inner type's schema version and upgraded by the inner type's upgraders.
/// </summary>
/// <typeparam name="TInner">The state type it carries.</typeparam>
internal interface IStateVersionCarrier<TInner>
{
}

/// <summary>
/// The current schema version of <typeparamref name="T"/>: its <see cref="StateVersionAttribute"/> (a carrier's: its
/// inner type's), else 1.
/// </summary>
internal static class StateTypeVersion<T>
{
    /// <summary>The state type a carrier holds, or <see langword="null"/>.</summary>
    public static readonly Type? Inner = typeof(T).GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IStateVersionCarrier<>))?.GetGenericArguments()[0];

    public static readonly int Current = StateUpgrades.VersionOf(Inner ?? typeof(T));

    /// <summary>Whether <typeparamref name="T"/> reads any document as it is (a JSON tree or <see cref="object"/>): no version applies.</summary>
    public static readonly bool IsDocument = typeof(T) == typeof(JsonElement) || typeof(T) == typeof(object) || typeof(JsonNode).IsAssignableFrom(typeof(T)) || typeof(T) == typeof(JsonDocument);
}

/// <summary>One upgrade step: a typed one reads <c>From</c> with the serializer and converts; a JSON one changes the document.</summary>
internal sealed record UpgradeStep(Type? From, Type? To, Func<IStateSerializer, ReadOnlyMemory<byte>, object?>? Read, Func<object, object?> Apply);

/// <summary>The upgraders of every state type, registered with <c>AddStateUpgrades&lt;T&gt;</c>; used by <see cref="StateValueCodec"/> on read.</summary>
internal sealed class StateUpgrades
{
    private readonly ConcurrentDictionary<Type, SortedDictionary<int, UpgradeStep>> _types = new();

    /// <summary>No upgraders (a codec made without a container).</summary>
    public static readonly StateUpgrades None = new();

    public bool HasJsonSteps => _types.Values.Any(steps => steps.Values.Any(s => s.Read is null));

    public void Add<T>(StateUpgradeBuilder<T> builder)
    {
        var steps = builder.Steps;
        var current = StateTypeVersion<T>.Current;
        var versions = steps.Keys.ToList();
        for (var i = 0; i < versions.Count; i++)
        {
            if (i > 0 && versions[i] != versions[i - 1] + 1)
            {
                throw new ArgumentException($"{typeof(T).Name}: there is no upgrade step from version {versions[i - 1] + 1}; steps must lead from the oldest version to {current} without a gap.");
            }

            var step = steps[versions[i]];
            var nextIsTyped = i + 1 < versions.Count && steps[versions[i + 1]].From is not null;
            var expected = i + 1 == versions.Count ? typeof(T) : nextIsTyped ? steps[versions[i + 1]].From : null;
            if (step.To is not null && expected is not null && !expected.IsAssignableFrom(step.To))
            {
                throw new ArgumentException($"{typeof(T).Name}: the step from version {versions[i]} returns {step.To.Name}, but version {versions[i] + 1} is read as {expected.Name}.");
            }
        }

        if (versions.Count > 0 && versions[^1] != current - 1)
        {
            throw new ArgumentException($"{typeof(T).Name}: the last upgrade step reads version {versions[^1]}, but the type is at version {current}; add the step from {versions[^1] + 1}.");
        }

        if (!_types.TryAdd(typeof(T), steps))
        {
            throw new ArgumentException($"{typeof(T).Name} has upgraders registered already.");
        }
    }

    /// <summary>The schema version <paramref name="type"/> declares (<see cref="StateVersionAttribute"/>), else 1.</summary>
    public static int VersionOf(Type type) => type.GetCustomAttribute<StateVersionAttribute>()?.Version ?? 1;

    /// <summary>Brings a payload stored at <paramref name="stored"/> up to <typeparamref name="T"/>'s current version.</summary>
    public T? Upgrade<T>(IStateSerializer serializer, ReadOnlyMemory<byte> payload, int stored, string? key)
    {
        if (StateTypeVersion<T>.Inner is not { } inner)
        {
            return Run(typeof(T), serializer, payload, stored, key) switch
            {
                JsonNode node => node.Deserialize<T>(Json(serializer, typeof(T), key, stored)),
                var value => (T)value,
            };
        }

        // A carrier (a session record): its State member is upgraded as the inner type, on the JSON document.
        var options = Json(serializer, inner, key, stored);
        var record = JsonNode.Parse(payload.Span)?.AsObject()
            ?? throw new StateTypeVersionException(key, inner.Name, stored, VersionOf(inner), "the stored record is empty");
        var name = options.PropertyNamingPolicy?.ConvertName("State") ?? "State";
        var state = record[name] ?? throw new StateTypeVersionException(key, inner.Name, stored, VersionOf(inner), $"the stored record has no '{name}'");
        var upgraded = Run(inner, serializer, state, stored, key);
        record[name] = upgraded as JsonNode ?? JsonSerializer.SerializeToNode(upgraded, upgraded.GetType(), options);
        return record.Deserialize<T>(options);
    }

    /// <summary>Runs <paramref name="type"/>'s steps from <paramref name="stored"/>: returns the last step's object or JSON document.</summary>
    /// <param name="type">The state type.</param>
    /// <param name="serializer">Reads the payload for typed steps.</param>
    /// <param name="value">The payload bytes or the JSON document at <paramref name="stored"/>.</param>
    /// <param name="stored">The stored schema version.</param>
    /// <param name="key">The state key, for errors.</param>
    private object Run(Type type, IStateSerializer serializer, object value, int stored, string? key)
    {
        var current = VersionOf(type);
        if (!_types.TryGetValue(type, out var steps) || !steps.ContainsKey(stored))
        {
            throw new StateTypeVersionException(key, type.Name, stored, current, $"no upgrader reads version {stored} (register one with AddStateUpgrades<{type.Name}>)");
        }

        for (var version = stored; version < current; version++)
        {
            var step = steps[version];
            object? input = step.Read is { } read
                ? value switch
                {
                    ReadOnlyMemory<byte> bytes => read(serializer, bytes),
                    JsonNode node => node.Deserialize(step.From!, Json(serializer, type, key, stored)),
                    _ => value,
                }
                : value switch
                {
                    ReadOnlyMemory<byte> raw => JsonNode.Parse(raw.Span),
                    JsonNode node => node,
                    _ => JsonSerializer.SerializeToNode(value, value.GetType(), Json(serializer, type, key, stored)),
                };
            value = step.Apply(input ?? throw new StateTypeVersionException(key, type.Name, stored, current, $"the value at version {version} is empty"))
                ?? throw new StateTypeVersionException(key, type.Name, stored, current, $"the upgrader from version {version} returned null");
        }

        return value;
    }

    private static JsonSerializerOptions Json(IStateSerializer serializer, Type type, string? key, int stored) =>
        (serializer as JsonStateSerializer)?.Options
            ?? throw new StateTypeVersionException(key, type.Name, stored, VersionOf(type), $"this upgrade goes through the JSON document (a JSON step, or a session record), which needs the JSON serializer, not {serializer.GetType().Name}");
}
