using Npgsql;
using NUnit.Framework;
using StateKit.Postgres;
using StateKit.Testing;
using StateKit.Tests.Testing;

namespace StateKit.Tests.Postgres;

/// <summary>The conformance suite, bare, through a pass-through decorator and behind the L1 tier, against <see cref="PostgresStateStore"/> on the test server; each run uses its own schema.</summary>
[TestFixture(StorePipeline.Bare)]
[TestFixture(StorePipeline.PassThrough)]
[TestFixture(StorePipeline.L1)]
public sealed class PostgresStateStoreConformanceTests(StorePipeline pipeline) : PostgresConformanceFixture("sk_conf_")
{
    protected override IStateStore Decorate(PostgresStateStore store) => pipeline.Wrap(store, Time);

    /// <summary>Flips a byte of a stored value in the store's table, as a damaged disk would.</summary>
    internal static async ValueTask<bool> DamageAsync(string schema, string keyPrefix, string key)
    {
        await using var dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
        await using var cmd = dataSource.CreateCommand($"UPDATE \"{schema}\".statekit_entries SET value = set_byte(value, length(value) / 2, get_byte(value, length(value) / 2) # 90) WHERE ns = @ns AND key = @key");
        cmd.Parameters.AddWithValue("ns", keyPrefix);
        cmd.Parameters.AddWithValue("key", key);
        return await cmd.ExecuteNonQueryAsync() == 1;
    }
}
