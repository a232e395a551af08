using NUnit.Framework;

namespace StateKit.Tests;

/// <summary>
/// The servers started by <c>tests/run.sh</c> (or given by the user) for server-backed tests. A missing server
/// fails the test under <c>CI=true</c> and is reported as ignored elsewhere.
/// </summary>
internal static class TestServers
{
    /// <summary>Gets the Npgsql connection string of the test PostgreSQL server.</summary>
    public static string Postgres => Require("STATEKIT_POSTGRES", "PostgreSQL");

    /// <summary>
    /// Gets a <c>pg_stat_activity</c> condition that finds a PostgreSQL store's change-feed connection by its last query:
    /// the LISTEN, the registration's wait (schema version 5) or a renewal of the registration.
    /// </summary>
    public const string PostgresFeedConnection = "query LIKE 'LISTEN \"statekit_%' OR query LIKE '%pg_xact_status%' OR query LIKE 'UPDATE %_listeners\" SET expires_at%'";

    /// <summary>Gets the Npgsql connection string of the test PgBouncer (transaction pooling, in front of <see cref="Postgres"/>).</summary>
    public static string PgBouncer => Require("STATEKIT_PGBOUNCER", "PgBouncer");

    /// <summary>Gets the StackExchange.Redis configuration of the test Redis server.</summary>
    public static string Redis => Require("STATEKIT_REDIS", "Redis");

    /// <summary>Gets the path of ChromeDriver (Debian's chromium-driver), for the browser tests.</summary>
    public static string ChromeDriver => Require("STATEKIT_CHROMEDRIVER", "ChromeDriver (apt-get install chromium chromium-driver)");

    /// <summary>Gets the StackExchange.Redis configuration of the test Redis Cluster (3 primaries, 3 replicas, started by tests/run.sh).</summary>
    public static string RedisCluster => Require("STATEKIT_REDIS_CLUSTER", "Redis Cluster");

    /// <summary>Gets the path of the redis-server binary, for tests that start servers of their own (a Redis Cluster).</summary>
    public static string RedisServer => Require("STATEKIT_REDIS_SERVER", "redis-server");

    /// <summary>Gets the path of Chromium, for the browser tests.</summary>
    public static string Chromium => Require("STATEKIT_CHROMIUM", "Chromium (apt-get install chromium chromium-driver)");

    /// <summary>Gets a shell command exported by <c>tests/run.sh</c> (server stop and start), for crash tests.</summary>
    /// <param name="variable">The variable, such as <c>STATEKIT_REDIS_STOP</c>.</param>
    /// <returns>The command.</returns>
    public static string Command(string variable) =>
        Require(variable, $"The server control command {variable} (exported by tests/run.sh for the servers it starts)");

    /// <summary>Drops a PostgreSQL schema a test created, with everything in it.</summary>
    /// <param name="schema">The schema.</param>
    /// <returns>A task.</returns>
    public static async Task DropSchemaAsync(string schema)
    {
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(Postgres);
        await using var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>Deletes every key of the test Redis server under a prefix a test used.</summary>
    /// <param name="prefix">The Redis key prefix.</param>
    /// <returns>A task.</returns>
    /// <param name="cluster">Whether the keys are on the test Redis Cluster.</param>
    public static async Task DeleteRedisKeysAsync(string prefix, bool cluster = false)
    {
        await using var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(cluster ? RedisCluster : Redis);
        var database = multiplexer.GetDatabase();
        foreach (var server in multiplexer.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: prefix + "*"))
            {
                await database.KeyDeleteAsync(key);
            }
        }
    }

    /// <summary>Runs a shell command and fails the test when it fails.</summary>
    /// <param name="command">The command.</param>
    /// <returns>A task.</returns>
    public static async Task RunAsync(string command)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("bash", ["-c", command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.That(process.ExitCode, Is.Zero, $"'{command}' failed: {await output}{await error}");
    }

    private static string Require(string variable, string what)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(value))
        {
            return value;
        }

        var message = $"{what} is not available: run 'bash tests/run.sh', which starts the test servers, or set {variable}.";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail(message);
        }

        Assert.Ignore(message);
        throw new InvalidOperationException(message);
    }
}
