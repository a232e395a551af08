namespace StateKit;

/// <summary>A session state is larger than <see cref="SessionOptions.MaxStateBytes"/>; nothing was stored.</summary>
public sealed class SessionStateTooLargeException : InvalidOperationException
{
    /// <summary>Initializes a new instance of the <see cref="SessionStateTooLargeException"/> class.</summary>
    /// <param name="size">The encoded size.</param>
    /// <param name="maxSize">The limit.</param>
    public SessionStateTooLargeException(int size, int maxSize)
        : base($"The session state is {size} bytes encoded, more than MaxStateBytes ({maxSize}); nothing was stored.")
    {
        Size = size;
        MaxSize = maxSize;
    }

    /// <summary>Gets the encoded size.</summary>
    public int Size { get; }

    /// <summary>Gets the limit.</summary>
    public int MaxSize { get; }
}
