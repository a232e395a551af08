using System.Diagnostics;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace StateKit.Benchmarks;

/// <summary>
/// Runs every <c>StateKit_X</c> benchmark of the server store classes alternately with its <c>Raw_X</c> baseline,
/// one call each per round, and prints the median and 99th percentile of both and their ratio.
/// </summary>
internal static class PairedRunner
{
    public static async Task RunAsync(int rounds, string filter = "")
    {
        Console.WriteLine($"| store | operation | StateKit p50 | raw p50 | ratio p50 | StateKit p99 | raw p99 |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var type in new[] { typeof(SqliteBenchmarks), typeof(PostgresBenchmarks), typeof(RedisBenchmarks), typeof(RedisClusterBenchmarks) })
        {
            if (!type.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var instance = Activator.CreateInstance(type)!;
            await Invoke(instance, type.GetMethods().Single(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null));
            try
            {
                foreach (var mine in type.GetMethods().Where(m => m.Name.StartsWith("StateKit_", StringComparison.Ordinal)))
                {
                    var raw = type.GetMethod("Raw_" + mine.Name["StateKit_".Length..])!;
                    var perCall = mine.GetCustomAttribute<BenchmarkAttribute>()!.OperationsPerInvoke;
                    var n = Math.Max(50, rounds / perCall);
                    var a = new double[n];
                    var b = new double[n];
                    for (var i = 0; i < 20; i++)
                    {
                        await Invoke(instance, mine);
                        await Invoke(instance, raw);
                    }

                    for (var i = 0; i < n; i++)
                    {
                        a[i] = await Time(instance, mine) / perCall;
                        b[i] = await Time(instance, raw) / perCall;
                    }

                    Array.Sort(a);
                    Array.Sort(b);
                    var (a50, b50) = (a[n / 2], b[n / 2]);
                    Console.WriteLine($"| {type.Name.Replace("Benchmarks", string.Empty, StringComparison.Ordinal)} | {mine.Name["StateKit_".Length..]}{(perCall > 1 ? " (per item)" : string.Empty)} | {a50:0.0} µs | {b50:0.0} µs | {a50 / b50:0.00} | {a[(int)(n * 0.99)]:0.0} µs | {b[(int)(n * 0.99)]:0.0} µs |");
                }
            }
            finally
            {
                await Invoke(instance, type.GetMethods().Single(m => m.GetCustomAttribute<GlobalCleanupAttribute>() is not null));
            }
        }
    }

    private static async Task<double> Time(object instance, MethodInfo method)
    {
        var start = Stopwatch.GetTimestamp();
        await Invoke(instance, method);
        return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
    }

    private static async Task Invoke(object instance, MethodInfo method)
    {
        if (method.Invoke(instance, null) is Task task)
        {
            await task;
        }
    }
}
