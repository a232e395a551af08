using System.Reflection;

namespace StateKit.Internal;

/// <summary>Whether <typeparamref name="T"/> is immutable by its kind or by <see cref="ImmutableStateAttribute"/> (computed once per type).</summary>
/// <typeparam name="T">The state type.</typeparam>
internal static class ImmutableType<T>
{
    public static readonly bool Known = Compute(typeof(T));

    private static bool Compute(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying.IsPrimitive || underlying.IsEnum
            || underlying == typeof(string) || underlying == typeof(decimal) || underlying == typeof(DateTime)
            || underlying == typeof(DateTimeOffset) || underlying == typeof(TimeSpan) || underlying == typeof(Guid)
            || underlying.GetCustomAttribute<ImmutableStateAttribute>(inherit: false) is not null;
    }
}
