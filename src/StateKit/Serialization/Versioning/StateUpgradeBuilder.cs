using System.Text.Json.Nodes;

namespace StateKit;

/// <summary>
/// The upgraders of one state type (<c>AddStateUpgrades&lt;T&gt;</c>): one step per older version, from version
/// <c>n</c> to <c>n + 1</c>, applied in order on read until the value is at the type's current version
/// (<see cref="StateVersionAttribute"/>). A step is typed (the old shape as a type of its own, for any serializer) or
/// works on the JSON document (the JSON serializer only).
/// </summary>
/// <typeparam name="T">The state type, at its current version.</typeparam>
public sealed class StateUpgradeBuilder<T>
{
    internal StateUpgradeBuilder()
    {
    }

    internal SortedDictionary<int, UpgradeStep> Steps { get; } = [];

    /// <summary>Adds the step from <paramref name="version"/> to the next: reads the stored value as <typeparamref name="TOld"/> and returns it as the next version's shape.</summary>
    /// <typeparam name="TOld">The type's shape at <paramref name="version"/>.</typeparam>
    /// <typeparam name="TNext">The shape at the next version (<typeparamref name="T"/> for the last step).</typeparam>
    /// <param name="version">The version this step reads: 1 or more, below the current version.</param>
    /// <param name="upgrade">The conversion; must not return <see langword="null"/>.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The version is out of range or has a step already.</exception>
    public StateUpgradeBuilder<T> From<TOld, TNext>(int version, Func<TOld, TNext> upgrade)
    {
        ArgumentNullException.ThrowIfNull(upgrade);
        return Add(version, new UpgradeStep(typeof(TOld), typeof(TNext), (serializer, payload) => serializer.Deserialize<TOld>(payload.Span), value => upgrade((TOld)value)));
    }

    /// <summary>Adds the step from <paramref name="version"/> to the next on the stored JSON document (rename, move, add or drop members).</summary>
    /// <param name="version">The version this step reads: 1 or more, below the current version.</param>
    /// <param name="upgrade">Returns the document at the next version (it may change and return its argument).</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The version is out of range or has a step already.</exception>
    public StateUpgradeBuilder<T> FromJson(int version, Func<JsonNode, JsonNode> upgrade)
    {
        ArgumentNullException.ThrowIfNull(upgrade);
        return Add(version, new UpgradeStep(null, null, null, value => upgrade((JsonNode)value)));
    }

    private StateUpgradeBuilder<T> Add(int version, UpgradeStep step)
    {
        var current = StateTypeVersion<T>.Current;
        if (version < 1 || version >= current)
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, $"{typeof(T).Name} is at version {current} ([StateVersion]); an upgrade step reads a version from 1 to {current - 1}.");
        }

        if (!Steps.TryAdd(version, step))
        {
            throw new ArgumentException($"{typeof(T).Name} has an upgrade step from version {version} already.", nameof(version));
        }

        return this;
    }
}
