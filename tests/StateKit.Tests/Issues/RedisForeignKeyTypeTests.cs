using NUnit.Framework;
using StackExchange.Redis;
using StateKit.Redis;

namespace StateKit.Tests.Issues;

/// <summary>A key of another Redis type inside a store's namespace is reported as damaged and never breaks the rest of it.</summary>
[Category("Redis")]
public sealed class RedisForeignKeyTypeTests
{
    [Test]
    public async Task StringAtAnEntryKey_ListingAndPurgeKeepWorking_ReadThrowsCorrupted()
    {
        var options = new RedisStateStoreOptions { Configuration = TestServers.Redis, RedisKeyPrefix = "sktest-type", KeyPrefix = "p" + Guid.NewGuid().ToString("N")[..10] };
        await using var store = new RedisStateStore(options);
        await store.SetAsync("good", "v"u8.ToArray());
        await store.SetAsync("soon", "v"u8.ToArray(), new StateWriteOptions(TimeToLive: TimeSpan.FromMilliseconds(50)));
        using (var multiplexer = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis))
        {
            await multiplexer.GetDatabase().StringSetAsync($"{options.RedisKeyPrefix}:{options.KeyPrefix.Length}:{options.KeyPrefix}:e:foreign", "not a hash");
        }

        await Task.Delay(100);
        var keys = new List<string>();
        await foreach (var key in store.ListKeysAsync())
        {
            keys.Add(key);
        }

        Assert.That(keys.Order(StringComparer.Ordinal), Is.EqualTo(new[] { "foreign", "good" }), "the foreign key is listed so that a read reports it");
        await store.PurgeExpiredAsync(); // used to fail with WRONGTYPE for the whole namespace
        var ex = await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.GetAsync("foreign"));
        Assert.That(ex!.Key, Is.EqualTo("foreign"));
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await store.SetAsync("foreign", "v"u8.ToArray(), StateWriteOptions.IfVersion(1)));
        Assert.That(await store.DeleteAsync("foreign"), Is.False, "an unconditional delete removes the foreign key");
        Assert.That(await store.SetAsync("foreign", "v"u8.ToArray()), Is.EqualTo(1));
    }
}
