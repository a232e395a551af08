using NUnit.Framework;
using StateKit.Postgres;
using StateKit.Testing;

namespace StateKit.Tests.Postgres;

/// <summary>
/// The conformance suite on <see cref="PostgresStateStore"/> in a schema of the fixture's own (dropped after it); a
/// fixture says how its stores connect and what tables they make through <see cref="StoreOptions"/>.
/// </summary>
/// <param name="schemaPrefix">The start of the schema's name; a random suffix follows.</param>
public abstract class PostgresConformanceFixture(string schemaPrefix) : StateStoreConformanceTests<PostgresStateStore>
{
    /// <summary>Gets the fixture's schema.</summary>
    protected string Schema { get; } = schemaPrefix + Guid.NewGuid().ToString("N")[..10];

    [OneTimeTearDown]
    public async Task DropSchemaAsync()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("STATEKIT_POSTGRES")))
        {
            await TestServers.DropSchemaAsync(Schema);
        }
    }

    /// <summary>The options of a store of this fixture: the test server and the fixture's schema by default.</summary>
    protected virtual PostgresStateStoreOptions StoreOptions() => new() { ConnectionString = TestServers.Postgres, Schema = Schema };

    protected override ValueTask<PostgresStateStore> CreateStoreAsync(StateStoreOptions options, TimeProvider timeProvider)
    {
        var postgresOptions = StoreOptions();
        options.CopyTo(postgresOptions);
        return new(new PostgresStateStore(postgresOptions, timeProvider));
    }

    protected override ValueTask<bool> DamageStoredValueAsync(string keyPrefix, string key) => PostgresStateStoreConformanceTests.DamageAsync(Schema, keyPrefix, key);
}
