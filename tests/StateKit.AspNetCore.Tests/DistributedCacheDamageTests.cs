using NUnit.Framework;
using StateKit.AspNetCore.Internal;
using StateKit.Sqlite;

namespace StateKit.AspNetCore.Tests;

/// <summary>Issue 23, item 11: the <c>IDistributedCache</c> bridge never hands out damaged bytes; the store's checksum refuses them, typed.</summary>
public sealed class DistributedCacheDamageTests
{
    [Test]
    public async Task Get_OfAValueDamagedInTheDatabase_IsStateCorrupted_NotWrongBytes()
    {
        var root = Directory.CreateTempSubdirectory("statekit-cache-damage-").FullName;
        var path = Path.Combine(root, "cache.db");
        try
        {
            await using var store = new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = path });
            var cache = new StateKitDistributedCache(store, TimeProvider.System, new StateKitDistributedCacheOptions());
            await cache.SetAsync("page", "cached page body"u8.ToArray(), new Microsoft.Extensions.Caching.Distributed.DistributedCacheEntryOptions());
            Assert.That(await cache.GetAsync("page"), Is.EqualTo("cached page body"u8.ToArray()));

            await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
            {
                await connection.OpenAsync();
                await using var cmd = connection.CreateCommand();
                cmd.CommandText = "UPDATE statekit_entries SET value = CAST(substr(value, 1, length(value) - 3) || X'00' || substr(value, length(value) - 1) AS BLOB)";
                Assert.That(await cmd.ExecuteNonQueryAsync(), Is.EqualTo(1));
            }

            Assert.That(async () => await cache.GetAsync("page"), Throws.InstanceOf<StateCorruptedException>());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, recursive: true);
        }
    }
}
