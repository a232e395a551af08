using System.Collections.Concurrent;
using NUnit.Framework;
using StateKit.Postgres;
using StateKit.Testing;

namespace StateKit.Tests.Postgres;

/// <summary>
/// Issue 25: the conformance suite through a real PgBouncer in transaction mode (<c>tests/servers.sh</c> starts one in
/// front of the test PostgreSQL), with the two settings the README names: <c>Max Auto Prepare=0</c> (server-side
/// prepared statements do not survive a pooler that lends a server connection per transaction) and
/// <see cref="PostgresStateStoreOptions.ListenConnectionString"/> straight to PostgreSQL (a LISTEN needs its session).
/// </summary>
public sealed class PostgresPgBouncerConformanceTests() : PostgresConformanceFixture("sk_pgb_")
{
    [Test]
    public async Task ConcurrentConditionalUpdates_ThroughThePooler_LoseNothing_AndAnotherInstanceHearsThem()
    {
        await using var listener = await CreateStoreAsync(CreateOptions(TestPrefix), Time);
        var heard = new ConcurrentDictionary<long, bool>();
        await using var subscription = await listener.SubscribeAsync("counter", (change, _) =>
        {
            heard[change.Version] = true;
            return ValueTask.CompletedTask;
        });

        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                while (true)
                {
                    var current = await Store.GetAsync("counter");
                    var next = BitConverter.GetBytes((current is null ? 0 : BitConverter.ToInt32(current.Value.Span)) + 1);
                    try
                    {
                        await Store.SetAsync("counter", next, current is null ? StateWriteOptions.IfNotExists : StateWriteOptions.IfVersion(current.Version));
                        break;
                    }
                    catch (StateConflictException)
                    {
                    }
                }
            }
        })));

        var final = (await Store.GetAsync("counter"))!;
        Assert.That((BitConverter.ToInt32(final.Value.Span), final.Version), Is.EqualTo((320, 320L)), "16 × 20 increments, none lost");
        var until = DateTime.UtcNow.AddSeconds(10);
        while (heard.Count < 320 && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }

        Assert.That(heard.Keys.Order(), Is.EqualTo(Enumerable.Range(1, 320).Select(v => (long)v)), "every version announced to the other instance");
    }

    protected override PostgresStateStoreOptions StoreOptions()
    {
        var options = base.StoreOptions();
        options.ConnectionString = TestServers.PgBouncer + ";Max Auto Prepare=0;No Reset On Close=true";
        options.ListenConnectionString = TestServers.Postgres;
        return options;
    }
}
