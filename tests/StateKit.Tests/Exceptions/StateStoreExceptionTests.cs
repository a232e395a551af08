using NUnit.Framework;
using StateKit.Adapters;

namespace StateKit.Tests.Exceptions;

public sealed class StateStoreExceptionTests
{
    [Test]
    public void Messages_NameStoreOperationAndKey()
    {
        StateStoreException[] errors =
        [
            new StateConflictException("redis", "Set", "user:1", 3, 5),
            new InvalidStateKeyException("redis", "user:1", "Set", "a reason"),
            new StateValueTooLargeException("redis", "Set", "user:1", 2000, 1000),
            new StateStoreUnavailableException("redis", "Set", "user:1", "connection refused"),
            new StateCorruptedException("redis", "Set", "user:1", "checksum mismatch", "row 7"),
        ];
        foreach (var error in errors)
        {
            Assert.That(error.Message, Does.Contain("'redis' store").And.Contain("Set").And.Contain("'user:1'"), error.GetType().Name);
            Assert.That((error.StoreName, error.Operation, error.Key), Is.EqualTo(("redis", "Set", "user:1")));
        }
    }

    [Test]
    public void ConflictMessage_SaysWhatWasExpectedAndWhatIs()
    {
        Assert.That(new StateConflictException("memory", "Set", "k", 0, 4).Message, Does.Contain("expected no entry").And.Contain("current version is 4"));
        Assert.That(new StateConflictException("memory", "Delete", "k", 2, 0).Message, Does.Contain("expected version 2").And.Contain("there is no entry"));
    }

    [Test]
    public void InvalidKeyMessage_EscapesControlCharactersAndShortensLongKeys()
    {
        var withControl = new InvalidStateKeyException("file", "a\nb\0c", "Get", "reason");
        Assert.That(withControl.Message, Does.Contain("a\\u000Ab\\u0000c").And.Not.Contain("\n"));
        var longKey = new InvalidStateKeyException("file", new string('x', 5000), "Get", "reason");
        Assert.That(longKey.Message.Length, Is.LessThan(400));
        Assert.That(longKey.Message, Does.Contain("5000 chars"));
    }

    [TestCase("valid/key:1", true)]
    [TestCase("a/./b", false)]
    [TestCase("a/../b", false)]
    [TestCase(".../b", true)]
    [TestCase("a/..", false)]
    [TestCase("emoji-🙂", true)]
    public void StateKeys_IsValid_AppliesSegmentAndCharacterRules(string key, bool valid)
    {
        Assert.That(StateKeys.IsValid(key, 512, out var reason), Is.EqualTo(valid), reason);
    }
}
