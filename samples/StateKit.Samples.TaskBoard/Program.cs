// Two (or more) agent workers coordinating on one task board, each in its own process, through one SQLite file:
// a lease per task (only one worker works on a task; its fencing token guards the result it writes), a mergeable
// progress counter every worker adds to without conflicts, and an event stream of what each worker did.
//
//   dotnet run -- <database file> <worker name> [task count]     (start two of them at once)
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using StateKit;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: StateKit.Samples.TaskBoard <database file> <worker name> [task count]");
    return 2;
}

var (database, worker) = (args[0], args[1]);
var taskCount = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 20;

var services = new ServiceCollection();
services.AddStateKit().UseSqlite(database);
await using var provider = services.BuildServiceProvider();
var store = provider.GetRequiredService<IStateStore>();
var leases = provider.GetRequiredService<IStateLeaseManager>();
var state = provider.GetRequiredService<IStateProvider>();
var streams = provider.GetRequiredService<IStateEventStreams>();
var board = StateScope.Shared("task-board");

var mine = new PNCounter(); // this worker's replica of the progress counter
var done = 0;
var random = new Random();
for (var task = 1; task <= taskCount; task++)
{
    var resource = $"task/{task}";
    var lease = await leases.TryAcquireAsync(resource, TimeSpan.FromSeconds(30));
    if (lease is null)
    {
        continue; // another worker has it
    }

    await using (lease)
    {
        var result = await store.GetFencedAsync($"board/{resource}/result");
        if (result is not null)
        {
            continue; // done already (by a worker that held the lease before)
        }

        await Task.Delay(random.Next(5, 40)); // the work (a model call, a tool run)
        await store.SetFencedAsync($"board/{resource}/result", Encoding.UTF8.GetBytes($"done by {worker}"), lease.FencingToken);
        mine = mine.Add(worker, 1);
        await state.MergeAsync(board, "progress", mine);
        await streams.AppendAsync(board, "activity", new[] { new TaskDone(task, worker, lease.FencingToken) });
        done++;
    }
}

// Wait until every task is done (by anyone), then report what the board says.
for (var i = 0; i < 600; i++)
{
    if ((await state.GetAsync<PNCounter>(board, "progress"))?.Value.Value >= taskCount)
    {
        break;
    }

    await Task.Delay(100);
}

var progress = (await state.GetAsync<PNCounter>(board, "progress"))?.Value.Value ?? 0;
var activity = await streams.ReadAsync<TaskDone>(board, "activity", maxCount: 10_000);
var distinct = activity.Select(a => a.Event.Task).Distinct().Count();
Console.WriteLine($"{worker} did {done} task(s)");
Console.WriteLine($"board: progress {progress} of {taskCount}, {activity.Count} events, {distinct} distinct tasks");
if (progress == taskCount && activity.Count == taskCount && distinct == taskCount)
{
    Console.WriteLine("board complete: every task done exactly once");
    return 0;
}

Console.WriteLine("board NOT complete or a task was done twice");
return 1;

/// <summary>An event of the board's activity stream: a task done, by whom, under which lease grant.</summary>
/// <param name="Task">The task number.</param>
/// <param name="Worker">The worker.</param>
/// <param name="FencingToken">The lease's token.</param>
internal sealed record TaskDone(int Task, string Worker, long FencingToken);
