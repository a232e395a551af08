namespace StateKit.Internal;

/// <summary>Registered once by <c>AddStateKit()</c> so a second call registers nothing new.</summary>
internal sealed class StateKitMarker(StateKitBuilder builder)
{
    public StateKitBuilder Builder { get; } = builder;
}
