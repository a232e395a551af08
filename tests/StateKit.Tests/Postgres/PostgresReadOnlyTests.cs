using Microsoft.Extensions.Logging;
using Npgsql;
using NUnit.Framework;
using StateKit.Postgres;

namespace StateKit.Tests.Postgres;

/// <summary>
/// Issue 25: a write that reaches a server in read-only mode (a standby after a failover, SQLSTATE 25006) is retried on a
/// new connection, as after a restart, instead of failing at once as a permanent error. Simulated with a role whose
/// sessions are read-only; turning that off stands for the failover to a writable primary. The retry must not reuse a
/// pooled connection to the read-only server: the store's pool clearing (<c>NpgsqlConnection.ClearPool</c>) cleared
/// nothing of its data source's pool, so before the fix all six attempts met the old session (also after a restart).
/// </summary>
public sealed class PostgresReadOnlyTests
{
    private readonly string _schema = "sk_ro_" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _role = "sk_ro_" + Guid.NewGuid().ToString("N")[..10];

    [OneTimeSetUp]
    public async Task CreateRoleAsync()
    {
        await using (var writer = new PostgresStateStore(new PostgresStateStoreOptions { ConnectionString = TestServers.Postgres, Schema = _schema }))
        {
            await writer.SetAsync("seed", new byte[] { 1 }); // creates the schema
        }

        await AdminAsync(
            $"CREATE ROLE \"{_role}\" LOGIN PASSWORD 'ro-password'",
            $"GRANT USAGE ON SCHEMA \"{_schema}\" TO \"{_role}\"",
            $"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"{_schema}\" TO \"{_role}\"",
            $"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA \"{_schema}\" TO \"{_role}\"");
    }

    [OneTimeTearDown]
    public async Task DropRoleAsync()
    {
        await TestServers.DropSchemaAsync(_schema);
        await AdminAsync($"DROP OWNED BY \"{_role}\"", $"DROP ROLE IF EXISTS \"{_role}\"");
    }

    [Test]
    public async Task AWriteRefusedAsReadOnly_IsRetriedOnANewConnection_AndLandsOnceTheServerIsWritable()
    {
        await AdminAsync($"ALTER ROLE \"{_role}\" SET default_transaction_read_only = on");
        var logger = new RetryLogger(() => AdminAsync($"ALTER ROLE \"{_role}\" RESET default_transaction_read_only").GetAwaiter().GetResult());
        await using var store = Store(logger, attempts: 6);

        await store.GetAsync("warm"); // a pooled connection opened while the server was read-only
        var version = await store.SetAsync("k", new byte[] { 7 });

        Assert.That(version, Is.EqualTo(1));
        Assert.That(logger.Retried, Has.Count.GreaterThanOrEqualTo(1));
        Assert.That(logger.Retried[0], Does.Contain("25006"), "the first attempt met the read-only server");
        Assert.That((await store.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(new byte[] { 7 }));
    }

    [Test]
    public async Task AServerThatStaysReadOnly_IsUnavailable_AfterTheAttempts_AndNothingWasApplied()
    {
        await AdminAsync($"ALTER ROLE \"{_role}\" SET default_transaction_read_only = on");
        var logger = new RetryLogger(() => { });
        await using var store = Store(logger, attempts: 3);

        var error = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await store.SetAsync("never", new byte[] { 1 }));
        Assert.That(error!.Message, Does.Contain("after 3 attempts").And.Contain("read-only"));
        Assert.That(error.WriteMayHaveApplied, Is.False);
        Assert.That(logger.Retried, Has.Count.EqualTo(2));
        Assert.That(await store.GetAsync("never"), Is.Null, "reads still work on a read-only server");
    }

    private PostgresStateStore Store(ILogger<PostgresStateStore> logger, int attempts)
    {
        var connection = new NpgsqlConnectionStringBuilder(TestServers.Postgres) { Username = _role, Password = "ro-password" };
        return new PostgresStateStore(
            new PostgresStateStoreOptions { ConnectionString = connection.ConnectionString, Schema = _schema, MaxAttempts = attempts, RetryDelay = TimeSpan.FromMilliseconds(10), MaxRetryDelay = TimeSpan.FromMilliseconds(20) },
            logger: logger);
    }

    private static async Task AdminAsync(params string[] statements)
    {
        await using var dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
        foreach (var statement in statements)
        {
            await using var command = dataSource.CreateCommand(statement);
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Records the store's retry warnings and runs <paramref name="onFirstRetry"/> at the first (before its backoff).</summary>
    private sealed class RetryLogger(Action onFirstRetry) : ILogger<PostgresStateStore>
    {
        public List<string> Retried { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id != 100)
            {
                return;
            }

            lock (Retried)
            {
                Retried.Add((exception as PostgresException)?.SqlState + " " + formatter(state, exception));
                if (Retried.Count == 1)
                {
                    onFirstRetry();
                }
            }
        }
    }
}
