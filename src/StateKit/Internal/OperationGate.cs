namespace StateKit.Internal;

/// <summary>
/// Lets operations run concurrently until it is closed; closing waits for the running ones to end and holds new ones
/// until it opens again (a fallback chain switches back to its primary behind it). Entering an open gate costs two
/// interlocked operations and allocates nothing.
/// </summary>
internal sealed class OperationGate
{
    private int _inFlight;
    private volatile TaskCompletionSource? _closed;

    public ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        if (_closed is null)
        {
            Interlocked.Increment(ref _inFlight);
            if (_closed is null)
            {
                return ValueTask.CompletedTask;
            }

            Interlocked.Decrement(ref _inFlight);
        }

        return WaitAndEnterAsync(cancellationToken);
    }

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Closes the gate and waits until no operation runs.</summary>
    public async Task CloseAsync()
    {
        _closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        while (Volatile.Read(ref _inFlight) > 0)
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    /// <summary>Opens the gate and lets the held operations go.</summary>
    public void Open()
    {
        var closed = _closed;
        _closed = null;
        closed?.TrySetResult();
    }

    private async ValueTask WaitAndEnterAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_closed is { } closed)
            {
                await closed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            Interlocked.Increment(ref _inFlight);
            if (_closed is null)
            {
                return;
            }

            Interlocked.Decrement(ref _inFlight);
        }
    }
}
