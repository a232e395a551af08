using Npgsql;
using NUnit.Framework;
using StateKit.File;
using StateKit.Postgres;
using StateKit.Redis;
using StateKit.Serialization;
using StateKit.Sqlite;

namespace StateKit.Tests.Stores;

/// <summary>How a test damages stored bytes, as the fault lab did: a flipped byte, a cut tail, nothing left, or another key's stored value (with its checksum) copied over.</summary>
public enum StoredDamage
{
    /// <summary>One byte in the middle changed.</summary>
    FlipByte,

    /// <summary>The last bytes cut off.</summary>
    Truncate,

    /// <summary>Zero bytes left.</summary>
    Empty,

    /// <summary>The stored value (and its checksum and version where the backend keeps them) of another key copied over it.</summary>
    CopyFromOtherKey,
}

/// <summary>
/// Issue 23, item 11: a raw read (<see cref="IStateStore"/>, as the <c>IDistributedCache</c> bridge and ASP.NET Core
/// session use it) of a damaged value or list item is <see cref="StateCorruptedException"/> naming the key on every
/// durable backend, never wrong bytes; a value copied under another key is caught too, because each checksum is bound to
/// its key. Rows and hashes written before checksums existed (schema 3, StateKit 0.1) stay readable, unverified.
/// </summary>
[TestFixture("file")]
[TestFixture("sqlite")]
[TestFixture("postgres")]
[TestFixture("redis")]
public sealed class StoredDamageTests(string kind)
{
    private static readonly byte[] Value = new StateValueCodec().Encode(new Dictionary<string, string> { ["turn"] = "hello there, this is a chat turn", ["tool"] = "result" }).ToArray();
    private static readonly byte[] OtherValue = new StateValueCodec().Encode(new Dictionary<string, string> { ["turn"] = "a different conversation entirely!", ["tool"] = "other" }).ToArray();

    private readonly string _prefix = "p" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _redisPrefix = "skdamage-" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _schema = "sk_damage_" + Guid.NewGuid().ToString("N")[..10];
    private string _root = string.Empty;
    private IStateStore _store = null!;

    private string SqlitePath => Path.Combine(_root, "state.db");

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("statekit-damage-").FullName;
        _store = Open();
    }

    [TearDown]
    public async Task TearDownAsync()
    {
        await _store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
        if (kind == "postgres")
        {
            await using var dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
            await using var cmd = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE");
            await cmd.ExecuteNonQueryAsync();
        }
        else if (kind == "redis")
        {
            using var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
            var server = multiplexer.GetServers()[0];
            await foreach (var key in server.KeysAsync(pattern: _redisPrefix + "*"))
            {
                await multiplexer.GetDatabase().KeyDeleteAsync(key);
            }
        }
    }

    [TestCase(StoredDamage.FlipByte)]
    [TestCase(StoredDamage.Truncate)]
    [TestCase(StoredDamage.Empty)]
    [TestCase(StoredDamage.CopyFromOtherKey)]
    public async Task RawGet_OfADamagedValue_IsStateCorrupted_NamingTheKey(StoredDamage damage)
    {
        await _store.SetAsync("other", OtherValue);
        await _store.SetAsync("k", Value);
        await _store.SetAsync("k", Value); // version 2, so a copied version-1 row is told apart by its key alone
        await DamageEntryAsync("k", damage, "other");

        var get = await Assert.ThrowsAsync<StateCorruptedException>(async () => await _store.GetAsync("k"));
        Assert.That(get!.Key, Is.EqualTo("k"));
        var many = await Assert.ThrowsAsync<StateCorruptedException>(async () => await _store.GetManyAsync(["other", "k"]));
        Assert.That(many!.Key, Is.EqualTo("k"));
        Assert.That((await _store.GetAsync("other"))!.Value.ToArray(), Is.EqualTo(OtherValue), "the undamaged key is still served");

        // A new write replaces the damaged value and is served again.
        await _store.SetAsync("k", Value);
        Assert.That((await _store.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(Value));
    }

    [TestCase(StoredDamage.FlipByte)]
    [TestCase(StoredDamage.Truncate)]
    [TestCase(StoredDamage.Empty)]
    [TestCase(StoredDamage.CopyFromOtherKey)]
    public async Task RawListRange_OverADamagedItem_IsStateCorrupted_NamingTheKey(StoredDamage damage)
    {
        if (kind == "file" && damage != StoredDamage.FlipByte)
        {
            // The file store keeps a list in one file of checksummed records; a cut or emptied file is a shorter list
            // file, covered by its own tests (FileStateStoreTests), and a copied file carries its own key.
            await _store.ListAppendAsync("l", [Value, OtherValue, Value]);
            Assert.That((await _store.ListRangeAsync("l")).Count, Is.EqualTo(3));
            return;
        }

        await _store.ListAppendAsync("other", [OtherValue, OtherValue, OtherValue]);
        await _store.ListAppendAsync("l", [Value, Value]);
        await _store.ListAppendAsync("l", [Value]);
        await DamageItemAsync("l", 1, damage, "other");

        var range = await Assert.ThrowsAsync<StateCorruptedException>(async () => await _store.ListRangeAsync("l"));
        Assert.That(range!.Key, Is.EqualTo("l"));
        if (kind == "file")
        {
            // The file store re-reads a damaged list file from the start and refuses the whole list, typed.
            await Assert.ThrowsAsync<StateCorruptedException>(async () => await _store.ListRangeAsync("l", 0, 0));
        }
        else
        {
            Assert.That((await _store.ListRangeAsync("l", 0, 0))[0].ToArray(), Is.EqualTo(Value), "the undamaged items are still served");
        }

        Assert.That((await _store.ListRangeAsync("other")).Count, Is.EqualTo(3));
    }

    [Test]
    public async Task ThroughL1AndAFallbackChain_ADamagedValue_IsStateCorrupted_AndTheChainStaysOnItsPrimary()
    {
        await _store.SetAsync("k", Value);
        await DamageEntryAsync("k", StoredDamage.FlipByte, "k");

        await using (var l1 = new L1StateStore(Open(), new L1StateStoreOptions(), TimeProvider.System))
        {
            var ex = await Assert.ThrowsAsync<StateCorruptedException>(async () => await l1.GetAsync("k"));
            Assert.That(ex!.Key, Is.EqualTo("k"));
        }

        await using var chain = new FallbackStateStore([Open(), new MemoryStateStore(new StateStoreOptions { KeyPrefix = _prefix })]);
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await chain.GetAsync("k"));
        await chain.SetAsync("k", OtherValue);
        Assert.That((await _store.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(OtherValue), "damage is not an outage: the chain still writes to the primary");
    }

    [Test]
    public async Task ValuesAndItemsWrittenBeforeChecksums_AreReadUnverified_AndChecksummedOnceRewritten()
    {
        if (kind == "file")
        {
            Assert.That(await _store.SetAsync("k", Value), Is.EqualTo(1), "the file store has checksummed its files from the start");
            return;
        }

        await _store.SetAsync("k", Value);
        await _store.ListAppendAsync("l", [Value, OtherValue]);
        await _store.DisposeAsync();
        await MakeLegacyAsync();
        _store = Open();

        Assert.That((await _store.GetAsync("k"))!.Value.ToArray(), Is.EqualTo(Value), "a legacy value is served");
        Assert.That((await _store.ListRangeAsync("l")).Select(i => i.ToArray()), Is.EqualTo(new[] { Value, OtherValue }), "legacy items are served");
        Assert.That(await _store.ListAppendAsync("l", [Value]), Is.EqualTo(3), "an append to a legacy list goes on in its format");
        Assert.That((await _store.ListRangeAsync("l")).Select(i => i.ToArray()), Is.EqualTo(new[] { Value, OtherValue, Value }));

        // Rewritten, the value carries a checksum: damage is caught from then on.
        await _store.SetAsync("k", Value);
        await DamageEntryAsync("k", StoredDamage.FlipByte, "k");
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await _store.GetAsync("k"));
    }

    [Test]
    public async Task AValueChangedByAWriterWithoutChecksums_IsReadUnverified_NotReportedDamaged()
    {
        // An older StateKit still running during a rolling upgrade rewrites value and version but leaves the checksum
        // columns alone: the checksum no longer belongs to the row's version, so it is not held against the new value.
        if (kind == "file")
        {
            Assert.That(await _store.SetAsync("k", Value), Is.EqualTo(1), "the file store has no older writer format");
            return;
        }

        await _store.SetAsync("k", Value);
        await WriteAsOlderStateKitAsync("k", OtherValue);
        var entry = await _store.GetAsync("k");
        Assert.That(entry!.Value.ToArray(), Is.EqualTo(OtherValue));
        Assert.That(entry.Version, Is.EqualTo(2));
    }

    private IStateStore Open() => kind switch
    {
        "file" => new FileStateStore(new FileStateStoreOptions { RootPath = _root, KeyPrefix = _prefix }),
        "sqlite" => new SqliteStateStore(new SqliteStateStoreOptions { ConnectionString = SqlitePath, KeyPrefix = _prefix }),
        "postgres" => new PostgresStateStore(new PostgresStateStoreOptions { ConnectionString = TestServers.Postgres, Schema = _schema, KeyPrefix = _prefix }),
        "redis" => new RedisStateStore(new RedisStateStoreOptions { Configuration = TestServers.Redis, RedisKeyPrefix = _redisPrefix, KeyPrefix = _prefix }),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private string RedisKey(string part, string key) => $"{_redisPrefix}:{_prefix.Length}:{_prefix}:{part}:{key}";

    private static byte[] Damaged(byte[] stored, StoredDamage damage) => damage switch
    {
        StoredDamage.FlipByte => stored.Select((b, i) => i == stored.Length / 2 ? (byte)(b ^ 0x5A) : b).ToArray(),
        StoredDamage.Truncate => stored[..^5],
        StoredDamage.Empty => [],
        _ => throw new ArgumentOutOfRangeException(nameof(damage)),
    };

    private async Task DamageEntryAsync(string key, StoredDamage damage, string otherKey)
    {
        switch (kind)
        {
            case "file":
            {
                var directory = Path.Combine(_root, "ns-" + StateKit.File.Internal.FileNames.ForKey(_prefix), "entries");
                var path = Path.Combine(directory, StateKit.File.Internal.FileNames.ForKey(key));
                var bytes = damage == StoredDamage.CopyFromOtherKey
                    ? await System.IO.File.ReadAllBytesAsync(Path.Combine(directory, StateKit.File.Internal.FileNames.ForKey(otherKey)))
                    : Damaged(await System.IO.File.ReadAllBytesAsync(path), damage);
                await System.IO.File.WriteAllBytesAsync(path, bytes);
                return;
            }

            case "redis":
            {
                using var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
                var db = multiplexer.GetDatabase();
                if (damage == StoredDamage.CopyFromOtherKey)
                {
                    await db.HashSetAsync(RedisKey("e", key), await db.HashGetAllAsync(RedisKey("e", otherKey)));
                }
                else
                {
                    await db.HashSetAsync(RedisKey("e", key), "v", Damaged((byte[])(await db.HashGetAsync(RedisKey("e", key), "v"))!, damage));
                }

                return;
            }

            default:
                await SqlAsync(
                    damage switch
                    {
                        StoredDamage.CopyFromOtherKey => "UPDATE {0}statekit_entries AS t SET value = s.value, version = s.version, crc = s.crc, crc_version = s.crc_version FROM {0}statekit_entries AS s WHERE t.ns = @ns AND t.key = @key AND s.ns = @ns AND s.key = @other",
                        _ => "UPDATE {0}statekit_entries SET value = " + SqlDamage(damage) + " WHERE ns = @ns AND key = @key",
                    },
                    key,
                    otherKey);
                return;
        }
    }

    private async Task DamageItemAsync(string key, long index, StoredDamage damage, string otherKey)
    {
        switch (kind)
        {
            case "file":
            {
                // Flip a byte in the middle of the second item, wherever the list's file keeps it.
                foreach (var path in Directory.GetFiles(Path.Combine(_root, "ns-" + StateKit.File.Internal.FileNames.ForKey(_prefix)), "*", SearchOption.AllDirectories))
                {
                    var bytes = await System.IO.File.ReadAllBytesAsync(path);
                    var first = bytes.AsSpan().IndexOf(Value);
                    var second = first < 0 ? -1 : bytes.AsSpan(first + Value.Length).IndexOf(Value);
                    if (second >= 0)
                    {
                        bytes[first + Value.Length + second + (Value.Length / 2)] ^= 0x5A;
                        await System.IO.File.WriteAllBytesAsync(path, bytes);
                        return;
                    }
                }

                throw new InvalidOperationException("The list's file was not found.");
            }

            case "redis":
            {
                using var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
                var db = multiplexer.GetDatabase();
                var stored = damage == StoredDamage.CopyFromOtherKey
                    ? (byte[])(await db.ListGetByIndexAsync(RedisKey("l", otherKey), index))!
                    : Damaged((byte[])(await db.ListGetByIndexAsync(RedisKey("l", key), index))!, damage);
                await db.ListSetByIndexAsync(RedisKey("l", key), index, stored);
                return;
            }

            default:
                const string seq = "(SELECT head FROM {0}statekit_lists WHERE ns = @ns AND key = @key) + " + "1";
                await SqlAsync(
                    damage switch
                    {
                        StoredDamage.CopyFromOtherKey => "UPDATE {0}statekit_list_items AS t SET value = s.value, crc = s.crc FROM {0}statekit_list_items AS s " +
                            "WHERE t.ns = @ns AND t.key = @key AND t.seq = " + seq + " AND s.ns = @ns AND s.key = @other AND s.seq = (SELECT head FROM {0}statekit_lists WHERE ns = @ns AND key = @other) + 1",
                        _ => "UPDATE {0}statekit_list_items SET value = " + SqlDamage(damage) + " WHERE ns = @ns AND key = @key AND seq = " + seq,
                    },
                    key,
                    otherKey);
                Assert.That(index, Is.EqualTo(1), "the SQL damage above targets item 1");
                return;
        }
    }

    private string SqlDamage(StoredDamage damage) => (kind, damage) switch
    {
        ("sqlite", StoredDamage.FlipByte) => "CAST(substr(value, 1, length(value) / 2) || X'00' || substr(value, length(value) / 2 + 2) AS BLOB)",
        ("sqlite", StoredDamage.Truncate) => "CAST(substr(value, 1, length(value) - 5) AS BLOB)",
        ("sqlite", StoredDamage.Empty) => "X''",
        (_, StoredDamage.FlipByte) => "set_byte(value, length(value) / 2, get_byte(value, length(value) / 2) # 90)",
        (_, StoredDamage.Truncate) => "substring(value from 1 for length(value) - 5)",
        (_, StoredDamage.Empty) => "'\\x'::bytea",
        _ => throw new ArgumentOutOfRangeException(nameof(damage)),
    };

    /// <summary>Takes the store back to what StateKit 0.1 wrote: no checksums (schema 3 in SQL, hashes without c/k and lists without the mark in Redis).</summary>
    private async Task MakeLegacyAsync()
    {
        if (kind == "redis")
        {
            using var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
            var db = multiplexer.GetDatabase();
            await db.HashDeleteAsync(RedisKey("e", "k"), ["c", "k"]);
            var items = await db.ListRangeAsync(RedisKey("l", "l"));
            await db.KeyDeleteAsync([RedisKey("l", "l"), RedisKey("m", "l")]);
            await db.ListRightPushAsync(RedisKey("l", "l"), items.Select(i => (StackExchange.Redis.RedisValue)((byte[])i!)[4..]).ToArray());
            return;
        }

        foreach (var statement in new[]
        {
            "ALTER TABLE {0}statekit_entries DROP COLUMN crc", "ALTER TABLE {0}statekit_entries DROP COLUMN crc_version",
            "ALTER TABLE {0}statekit_list_items DROP COLUMN crc", "UPDATE {0}statekit_schema SET version = 3",
        })
        {
            await SqlAsync(statement, "k", "k");
        }
    }

    private async Task WriteAsOlderStateKitAsync(string key, byte[] value)
    {
        if (kind == "redis")
        {
            using var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
            await multiplexer.GetDatabase().HashSetAsync(RedisKey("e", key), [new("v", value), new("n", 2)]);
            return;
        }

        await SqlAsync("UPDATE {0}statekit_entries SET value = @value, version = version + 1 WHERE ns = @ns AND key = @key", key, key, value);
    }

    private async Task SqlAsync(string statement, string key, string otherKey, byte[]? value = null)
    {
        if (kind == "sqlite")
        {
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={SqlitePath};Pooling=False");
            await connection.OpenAsync();
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = string.Format(System.Globalization.CultureInfo.InvariantCulture, statement, string.Empty);
            cmd.Parameters.AddWithValue("@ns", _prefix);
            cmd.Parameters.AddWithValue("@key", key);
            cmd.Parameters.AddWithValue("@other", otherKey);
            cmd.Parameters.AddWithValue("@value", (object?)value ?? DBNull.Value);
            AssertReached(statement, await cmd.ExecuteNonQueryAsync());
            return;
        }

        await using var dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
        await using var pg = dataSource.CreateCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, statement, $"\"{_schema}\"."));
        pg.Parameters.AddWithValue("ns", _prefix);
        pg.Parameters.AddWithValue("key", key);
        pg.Parameters.AddWithValue("other", otherKey);
        pg.Parameters.AddWithValue("value", NpgsqlTypes.NpgsqlDbType.Bytea, (object?)value ?? DBNull.Value);
        AssertReached(statement, await pg.ExecuteNonQueryAsync());
    }

    private static void AssertReached(string statement, int changed)
    {
        if (statement.StartsWith("UPDATE {0}statekit_entries", StringComparison.Ordinal) || statement.StartsWith("UPDATE {0}statekit_list_items", StringComparison.Ordinal))
        {
            Assert.That(changed, Is.EqualTo(1), "the change reached the row");
        }
    }
}
