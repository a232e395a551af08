using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using StateKit;

// Usage: StateKit.RedisCompat <redis configuration>. Runs the app twice: StateKit with its own multiplexer
// (UseRedis(configuration)), then one multiplexer shared by the distributed cache, Data Protection and StateKit.
// Every step checks its result; any failure, or a crash at shutdown, ends the process with a non-zero exit code.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: StateKit.RedisCompat <redis configuration>");
    return 2;
}

var redis = args[0];
var run = Guid.NewGuid().ToString("N")[..8];
Console.WriteLine($"StackExchange.Redis {typeof(ConnectionMultiplexer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}");

await RunAppAsync("owned", services => services.AddStateKit().UseRedis(redis, o => o.RedisKeyPrefix = "compat-" + run).AddSessions<Cart>(), multiplexer: null);

var shared = await ConnectionMultiplexer.ConnectAsync(redis);
await RunAppAsync("shared", services => services.AddStateKit().UseRedis(sp => sp.GetRequiredService<IConnectionMultiplexer>(), o => o.RedisKeyPrefix = "compat-" + run).AddSessions<Cart>(), shared);
// No check that the shared multiplexer outlives the host: RedisCache disposes a multiplexer handed to it through
// ConnectionMultiplexerFactory (dotnet/aspnetcore#67438). StateKit never does (RedisStateStoreTests pins it).
await shared.DisposeAsync();

Console.WriteLine("compat: ok");
return 0;

async Task RunAppAsync(string name, Action<IServiceCollection> addStateKit, IConnectionMultiplexer? multiplexer)
{
    var builder = Host.CreateApplicationBuilder();
    if (multiplexer is not null)
    {
        builder.Services.AddSingleton(multiplexer);
    }

    builder.Services.AddStackExchangeRedisCache(o =>
    {
        o.Configuration = redis;
        o.InstanceName = $"compat-{run}-{name}:";
        if (multiplexer is not null)
        {
            o.ConnectionMultiplexerFactory = () => Task.FromResult(multiplexer);
        }
    });
    var keys = builder.Services.AddDataProtection().SetApplicationName("statekit-compat");
    var keyList = $"compat-{run}-{name}:dataprotection-keys";
    if (multiplexer is null)
    {
        keys.PersistKeysToStackExchangeRedis(ConnectionMultiplexer.Connect(redis), keyList);
    }
    else
    {
        keys.PersistKeysToStackExchangeRedis(multiplexer, keyList);
    }

    addStateKit(builder.Services);

    using var host = builder.Build();
    await host.StartAsync();

    var cache = host.Services.GetRequiredService<IDistributedCache>();
    await cache.SetStringAsync("greeting", "hello");
    Check(await cache.GetStringAsync("greeting") == "hello", $"{name}: the distributed cache reads its own write");

    var protector = host.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("compat");
    Check(protector.Unprotect(protector.Protect("secret")) == "secret", $"{name}: Data Protection round-trips");

    var store = host.Services.GetRequiredService<IStateStore>();
    var version = await store.SetAsync("compat/entry", Encoding.UTF8.GetBytes(name));
    var entry = await store.GetAsync("compat/entry");
    Check(entry is not null && entry.Version == version && Encoding.UTF8.GetString(entry.Value.Span) == name, $"{name}: the StateKit store reads its own write");

    var sessions = host.Services.GetRequiredService<ISessionManager<Cart>>();
    var session = await sessions.CreateAsync(new Cart { Items = 3 });
    Check((await sessions.GetAsync(session.Id))?.State.Items == 3, $"{name}: a StateKit session reads back");

    var keysInRedis = (multiplexer ?? await ConnectionMultiplexer.ConnectAsync(redis)).GetDatabase().ListLength(keyList);
    Check(keysInRedis > 0, $"{name}: Data Protection keys are kept in Redis");

    await host.StopAsync();
    Console.WriteLine($"{name}: cache, Data Protection and StateKit work side by side");
}

static void Check(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException("check failed: " + what);
    }
}

/// <summary>The session state of the compatibility app.</summary>
internal sealed class Cart
{
    /// <summary>Gets or sets the number of items.</summary>
    public int Items { get; set; }
}
