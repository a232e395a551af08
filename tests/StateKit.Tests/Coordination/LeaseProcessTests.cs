using System.Globalization;
using System.Text;
using NUnit.Framework;
using StateKit.File;
using StateKit.Postgres;
using StateKit.Redis;
using StateKit.Sqlite;

namespace StateKit.Tests.Coordination;

/// <summary>
/// Issue 27: the lease checker across operating-system processes. Four worker processes share one store (a file-store
/// directory, a SQLite file, a PostgreSQL schema, a Redis key prefix) for three seconds, each taking the lease on one register, pausing up
/// to twice its 150 ms lifetime (worker p0: until a later holder has written), then appending to a fenced log. No
/// write of a stale holder may be accepted: the log's tokens never go back, and p0's writes must have been refused.
/// </summary>
[TestFixture("file")]
[TestFixture("sqlite")]
[TestFixture("postgres")]
[TestFixture("redis")]
public sealed class LeaseProcessTests(string kind)
{
    /// <summary>A fresh shared target for the crash-writer child processes, and how to open it here.</summary>
    internal sealed class SharedTarget : IAsyncDisposable
    {
        private readonly string _root = Directory.CreateTempSubdirectory("statekit-proc-").FullName;
        private readonly string _kind;
        private readonly string _name = "sk_proc_" + Guid.NewGuid().ToString("N")[..10];

        public SharedTarget(string kind)
        {
            _kind = kind;
            Argument = kind switch
            {
                "file" => Path.Combine(_root, "store"),
                "sqlite" => "sqlite:" + Path.Combine(_root, "state.db"),
                "postgres" => $"postgres:{_name}:{TestServers.Postgres}",
                _ => $"redis:{_name}:{TestServers.Redis}",
            };
        }

        /// <summary>Gets the crash writer's target argument.</summary>
        public string Argument { get; }

        /// <summary>Opens the shared store in this process.</summary>
        public IStateStore Open() => _kind switch
        {
            "file" => new FileStateStore(new FileStateStoreOptions { RootPath = Path.Combine(_root, "store") }),
            "sqlite" => new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = Path.Combine(_root, "state.db") }),
            "postgres" => new PostgresStateStore(new PostgresStateStoreOptions { ConnectionString = TestServers.Postgres, Schema = _name }),
            _ => new RedisStateStore(new RedisStateStoreOptions { Configuration = TestServers.Redis, RedisKeyPrefix = _name }),
        };

        public async ValueTask DisposeAsync()
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_root, recursive: true);
            if (_kind == "postgres")
            {
                await TestServers.DropSchemaAsync(_name);
            }
            else if (_kind == "redis")
            {
                await TestServers.DeleteRedisKeysAsync(_name);
            }
        }
    }

    /// <summary>Kills and disposes child processes still running (a failed test).</summary>
    internal static void Stop(IEnumerable<System.Diagnostics.Process> children)
    {
        foreach (var child in children)
        {
            if (!child.HasExited)
            {
                child.Kill();
            }

            child.Dispose();
        }
    }

    [Test]
    public async Task FourProcesses_PausingPastTheirLease_NeverGetAStaleWriteAccepted()
    {
        await using var target = new SharedTarget(kind);
        var children = new List<System.Diagnostics.Process>();
        try
        {
            for (var w = 0; w < 4; w++)
            {
                children.Add(File.ChildProcess.Start("lease", target.Argument, "p" + w, "3000"));
            }

            var accepted = 0;
            var refused = 0;
            foreach (var child in children)
            {
                Assert.That(await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo("ready"), await ErrorsAsync(child));
                var summary = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
                Assert.That(child.ExitCode, Is.Zero, await ErrorsAsync(child));
                var parts = summary!.Split(' ');
                accepted += int.Parse(parts[1], CultureInfo.InvariantCulture);
                refused += int.Parse(parts[3], CultureInfo.InvariantCulture);
            }

            await using var store = target.Open();
            var tokens = Encoding.UTF8.GetString((await store.GetFencedAsync("register/log"))!.Value.Span)
                .Split(';', StringSplitOptions.RemoveEmptyEntries)
                .Select(e => long.Parse(e.Split(':')[0], CultureInfo.InvariantCulture))
                .ToList();
            Assert.That(tokens.Count, Is.GreaterThan(3), "the processes made progress");
            Assert.That(tokens, Is.Ordered, "a smaller token after a larger one is a stale holder's write");
            Assert.That(refused, Is.GreaterThan(0), "worker p0 always writes after a later holder: its writes must be refused");
            Assert.That(tokens.Count, Is.LessThanOrEqualTo(accepted));
        }
        finally
        {
            Stop(children);
        }
    }

    internal static async Task<string> ErrorsAsync(System.Diagnostics.Process child) =>
        child.HasExited ? await child.StandardError.ReadToEndAsync() : "(still running)";
}
