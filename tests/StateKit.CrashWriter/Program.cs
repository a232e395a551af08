using System.Buffers.Binary;
using StateKit;
using StateKit.CrashWriter;
using Microsoft.Extensions.DependencyInjection;
using StateKit.File;
using StateKit.Sqlite;

// Usage (<target> is a file-store root directory, or sqlite:<database file>):
//   write <target> <keys>          endless rounds of conditional writes of self-describing values + list appends
//   increment <target> <count>     <count> conditional increments of one counter (for the multi-process tests)
//   lease <target> <worker> <ms>   for <ms>: take the lease "register" (150 ms), pause 0-300 ms (worker p0: until a
//                                  later holder has written), append to the fenced
//                                  register "register/log"; prints "accepted N refused M"
//   crdt <target> <worker> <count> <count> rounds: add 1 to the PN-counter "board/progress", add "<worker>-<i>" to the
//                                  observed-remove set "board/steps" (removing every third again), set "<worker>" in
//                                  the last-writer-wins map "board/last" to i, each merged into the stored value; prints "done"
// A target may also be postgres:<schema>:<connection string> or redis:<key prefix>:<configuration>.
var mode = args[0];
if (mode == "write-behind")
{
    // write-behind <journal directory> <postgres connection string> <schema> <keys>: acknowledged writes that are never
    // flushed (the flush interval is ten minutes); each acknowledgement is printed, then the process waits to be killed.
    var postgres = new StateKit.Postgres.PostgresStateStore(new StateKit.Postgres.PostgresStateStoreOptions { ConnectionString = args[2], Schema = args[3] });
    var behind = new StateStorePipelineBuilder(postgres).UseWriteBehind(args[1], o => o.FlushInterval = TimeSpan.FromMinutes(10)).Build();
    var keyCount = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
    for (var n = 0; ; n++)
    {
        var key = "wb/" + (n % keyCount);
        var current = await behind.GetAsync(key);
        var version = (current?.Version ?? 0) + 1;
        var written = await behind.SetAsync(key, System.Text.Encoding.UTF8.GetBytes($"{key}@{version}"), StateWriteOptions.IfVersion(current?.Version ?? 0));
        Console.WriteLine($"ack {key} {written}");
    }
}

await using IStateStore store = Open(args[1]);
if (mode == "lease")
{
    var worker = args[2];
    var until = DateTime.UtcNow.AddMilliseconds(int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
    var leases = new StateLeaseManager(store);
    var random = new Random();
    int accepted = 0, refused = 0;
    Console.WriteLine("ready");
    while (DateTime.UtcNow < until)
    {
        var lease = await leases.TryAcquireAsync("register", TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(2));
        if (lease is null)
        {
            continue;
        }

        if (worker == "p0")
        {
            // The certain case: paused until a later holder has written, so this write is stale whatever the timing.
            while (DateTime.UtcNow < until && ((await store.GetFencedAsync("register/log"))?.FencingToken ?? 0) <= lease.FencingToken)
            {
                await Task.Delay(10);
            }
        }
        else
        {
            await Task.Delay(random.Next(0, 300)); // sometimes past the lease
        }

        try
        {
            var log = await store.GetFencedAsync("register/log");
            var text = log is null ? string.Empty : System.Text.Encoding.UTF8.GetString(log.Value.Span);
            await store.SetFencedAsync("register/log", System.Text.Encoding.UTF8.GetBytes(text + $"{lease.FencingToken}:{worker};"), lease.FencingToken);
            accepted++;
        }
        catch (StateFencedException)
        {
            refused++;
        }

        await lease.ReleaseAsync();
    }

    Console.WriteLine($"accepted {accepted} refused {refused}");
    return 0;
}

if (mode == "crdt")
{
    var worker = args[2];
    var rounds = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
    var services = new ServiceCollection();
    services.AddStateKit().UseStore(_ => store);
    // The store is disposed with the process's own 'await using'; the container is left to the process exit.
    var container = services.BuildServiceProvider();
    var provider = container.GetRequiredService<IStateProvider>();
    var scope = StateScope.Shared("board");
    var counter = new PNCounter();
    var steps = new ORSet<string>();
    var last = new LwwMap<int>();
    Console.WriteLine("ready");
    for (var i = 0; i < rounds; i++)
    {
        counter = counter.Add(worker, 1);
        steps = steps.Add($"{worker}-{i}");
        if (i % 3 == 0)
        {
            steps = steps.Remove($"{worker}-{i}");
        }

        last = last.Set(worker, i, worker, i + 1);
        await provider.MergeAsync(scope, "progress", counter);
        await provider.MergeAsync(scope, "steps", steps);
        await provider.MergeAsync(scope, "last", last);
    }

    Console.WriteLine("done");
    return 0;
}

if (mode == "write")
{
    var keys = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
    Console.WriteLine("ready");
    for (var round = 0L; ; round++)
    {
        for (var k = 0; k < keys; k++)
        {
            var key = Payloads.Key(k);
            var current = await store.GetAsync(key);
            var next = (current?.Version ?? 0) + 1;
            await store.SetAsync(key, Payloads.Entry(next, k), StateWriteOptions.IfVersion(current?.Version ?? 0));
        }

        var length = await store.ListLengthAsync("log");
        var item = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(item, length + 1);
        await store.ListAppendAsync("log", [item]);
        if (round == 0)
        {
            Console.WriteLine("running");
        }
    }
}

if (mode == "increment")
{
    var count = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
    for (var done = 0; done < count;)
    {
        var current = await store.GetAsync("counter");
        var value = current is null ? 0 : BinaryPrimitives.ReadInt64LittleEndian(current.Value.Span);
        var next = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(next, value + 1);
        try
        {
            await store.SetAsync("counter", next, StateWriteOptions.IfVersion(current?.Version ?? 0));
            done++;
        }
        catch (StateConflictException)
        {
            // Another process won; read again.
        }
    }

    Console.WriteLine("done");
    return 0;
}

return 2;

static IStateStore Open(string target)
{
    static (string Head, string Tail) Split(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return (text[..colon], text[(colon + 1)..]);
    }

    if (target.StartsWith("sqlite:", StringComparison.Ordinal))
    {
        return new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = target["sqlite:".Length..] });
    }

    if (target.StartsWith("postgres:", StringComparison.Ordinal))
    {
        var (schema, connection) = Split(target["postgres:".Length..]);
        return new StateKit.Postgres.PostgresStateStore(new StateKit.Postgres.PostgresStateStoreOptions { Schema = schema, ConnectionString = connection });
    }

    if (target.StartsWith("redis:", StringComparison.Ordinal))
    {
        var (prefix, configuration) = Split(target["redis:".Length..]);
        return new StateKit.Redis.RedisStateStore(new StateKit.Redis.RedisStateStoreOptions { RedisKeyPrefix = prefix, Configuration = configuration });
    }

    return new FileStateStore(new FileStateStoreOptions { RootPath = target });
}
