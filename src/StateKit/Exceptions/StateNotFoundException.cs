namespace StateKit;

/// <summary>
/// Something asked for by name or number does not exist: a checkpoint id, or a version the history no longer holds.
/// A <see cref="KeyNotFoundException"/>, so existing handlers still catch it; ASP.NET Core's StateKit problem mapping
/// answers it with 404.
/// </summary>
public sealed class StateNotFoundException : KeyNotFoundException
{
    /// <summary>Initializes a new instance of the <see cref="StateNotFoundException"/> class.</summary>
    /// <param name="message">What was not found, and where.</param>
    public StateNotFoundException(string message)
        : base(message)
    {
    }
}
