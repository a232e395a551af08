using System.Collections.Concurrent;
using System.Text;

namespace StateKit.Tests;

/// <summary>
/// Writers for the server crash tests: each writes its own keys in sequence and records what the store
/// acknowledged and how each failure was reported, while a test stops and restarts the server.
/// </summary>
internal sealed class ServerLoad(IStateStore store, int writers)
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];

    public ConcurrentDictionary<string, string> Acknowledged { get; } = new();

    public ConcurrentBag<Exception> Failures { get; } = [];

    public int SucceededAfterMark => Volatile.Read(ref _succeededAfterMark);

    private int _succeededAfterMark;
    private volatile bool _marked;

    public void Start()
    {
        for (var w = 0; w < writers; w++)
        {
            var writer = w;
            _tasks.Add(Task.Run(async () =>
            {
                for (var i = 0; !_stop.IsCancellationRequested; i++)
                {
                    var key = $"w{writer}/{i}";
                    var value = $"value {writer}/{i}";
                    try
                    {
                        await store.SetAsync(key, Encoding.UTF8.GetBytes(value), StateWriteOptions.IfNotExists);
                        Acknowledged[key] = value;
                        if (_marked)
                        {
                            Interlocked.Increment(ref _succeededAfterMark);
                        }
                    }
                    catch (StateStoreException ex)
                    {
                        Failures.Add(ex);
                        await Task.Delay(20);
                    }
                }
            }));
        }
    }

    /// <summary>From now on, count successful writes (the server is back).</summary>
    public void Mark() => _marked = true;

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_tasks);
    }

    /// <summary>Waits until <paramref name="count"/> writes succeeded after <see cref="Mark"/>.</summary>
    public async Task WaitForSuccessesAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (SucceededAfterMark < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }
}
