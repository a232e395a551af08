using NUnit.Framework;
using StateKit.Internal;

namespace StateKit.Tests.Redis;

/// <summary>Issue 25: which keys share a shard (and so a hash slot in the Redis store's hash-slot layout).</summary>
public sealed class ShardTests
{
    [TestCase("shared/board/v/title", "shared/board")]
    [TestCase("shared/board/h/title/00000000000000000002", "shared/board")]
    [TestCase("shared/board/index", "shared/board")]
    [TestCase("shared/board/e/tasks/0000000000000000001", "shared/board")]
    [TestCase("session/abc/v/draft", "session/abc")]
    [TestCase("session-scopes/Chat/abc", "session/abc")]
    [TestCase("sessions/Chat/xyz", "session/xyz")]
    [TestCase("agents/workflows/s1/c/7", "agents/workflows/s1")]
    [TestCase("agents/workflows/s1/index", "agents/workflows/s1")]
    [TestCase("agents/sessions/s9", "agents/sessions/s9")]
    [TestCase("agents/agent-sessions/bot/s9/tenant=4", "agents/agent-sessions/bot/s9")]
    [TestCase("orders/42/a", "orders/42")]
    [TestCase("leases/register", "leases/register")]
    [TestCase("user:1", "user:1")]
    public void ShardOf(string key, string shard) => Assert.That(StoreKeyLayout.ShardOf(key), Is.EqualTo(shard));

    [Test]
    public void EveryKeyOfAScope_SharesItsShard_WhateverTheScope()
    {
        foreach (var scope in new[] { StateScope.Shared("b"), StateScope.Session("s"), StateScope.Local("agent-1"), StateScope.Persistent("p"), StateScope.Global })
        {
            var expected = scope.StorePrefix.TrimEnd('/');
            Assert.That(StoreKeyLayout.ShardOf(scope.StorePrefix + "v/x/y/z"), Is.EqualTo(expected), scope.ToString());
            Assert.That(StoreKeyLayout.ShardOf(scope.StorePrefix + "index"), Is.EqualTo(expected), scope.ToString());
        }
    }
}
