using System.Security.Cryptography;

namespace StateKit.Tests.Pipeline.Encryption;

/// <summary>Random keys for the encryption tests, each with its base64 form as configuration holds it.</summary>
internal static class TestKeys
{
    public static (StateEncryptionKey Key, string Base64) New(string id)
    {
        var material = RandomNumberGenerator.GetBytes(StateEncryptionKey.MaterialBytes);
        return (new StateEncryptionKey(id, material), Convert.ToBase64String(material));
    }

    public static StateEncryptionKeyRing Ring(StateEncryptionKey current, params StateEncryptionKey[] retired) => new(current, retired);
}

/// <summary>A store several pipelines share in turn (a restart with other keys): disposing the pipeline leaves it open.</summary>
internal sealed class Borrowed(IStateStore inner) : DelegatingStateStore(inner)
{
    protected override ValueTask DisposeAsyncCore() => ValueTask.CompletedTask;
}
