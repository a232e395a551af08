using Npgsql;
using NUnit.Framework;
using StateKit.Postgres;
using StateKit.Testing;

namespace StateKit.Tests.Postgres;

/// <summary>
/// Issue 25: the conformance suite on tables the store creates hash-partitioned (<see cref="PostgresStateStoreOptions.Partitions"/>
/// = 8), and a check that they are partitioned and that rows spread over the partitions.
/// </summary>
public sealed class PostgresPartitionedConformanceTests() : PostgresConformanceFixture("sk_part_")
{
    [Test]
    public async Task TheTables_ArePartitionedByHashOfTheKey_AndRowsSpreadOverThePartitions()
    {
        for (var i = 0; i < 200; i++)
        {
            await Store.SetAsync($"item/{i}", new byte[] { 1 });
        }

        await Store.ListAppendAsync("log", [new byte[] { 1 }]);
        await using var dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
        await using (var partitioned = dataSource.CreateCommand(
            "SELECT c.relname, p.partstrat FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = @schema ORDER BY c.relname"))
        {
            partitioned.Parameters.AddWithValue("schema", Schema);
            var tables = new List<string>();
            await using var reader = await partitioned.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                Assert.That(reader.GetChar(1), Is.EqualTo('h'), "hash partitioning");
                tables.Add(reader.GetString(0));
            }

            Assert.That(tables, Is.EquivalentTo(new[] { "statekit_entries", "statekit_list_items", "statekit_lists" }));
        }

        await using var spread = dataSource.CreateCommand($"SELECT count(DISTINCT tableoid) FROM \"{Schema}\".statekit_entries");
        Assert.That((long)(await spread.ExecuteScalarAsync())!, Is.EqualTo(8), "200 keys land in all 8 partitions");
    }

    protected override PostgresStateStoreOptions StoreOptions()
    {
        var options = base.StoreOptions();
        options.Partitions = 8;
        return options;
    }
}
