using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Logging;

namespace StateKit.AspNetCore.Internal;

/// <summary>
/// Encryption at rest keyed by ASP.NET Core Data Protection's key ring (<c>UseDataProtectionEncryption</c>): each Data
/// Protection key gives one StateKit key, <c>dp-{key id}</c>, derived from its master key with HKDF-SHA256 (the master
/// key itself is never used directly). The current key is the active, unrevoked Data Protection key activated last, so
/// StateKit rotates when Data Protection does (every 90 days by default); older keys stay readable while Data Protection
/// keeps them, and <see cref="IStateEncryptionStatus.RewrapAsync"/> moves values to the current one. Keys are where the
/// application keeps them (files, Redis, Azure Blob, protected by a certificate or Key Vault): instances sharing Data
/// Protection keys share StateKit's.
/// </summary>
internal sealed partial class DataProtectionKeyRing : IStateEncryptionKeyRing
{
    private const string Purpose = "StateKit.Encryption.v1";
    private const string IdPrefix = "dp-";
    private static readonly TimeSpan RefreshEvery = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan RefreshOnMissAfter = TimeSpan.FromSeconds(5);
    private readonly IKeyManager _keyManager;
    private readonly IDataProtectionProvider _provider;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _refreshing = new();
    private volatile Snapshot _snapshot;
    private long _nextMissRefreshTicks;

    public DataProtectionKeyRing(IKeyManager keyManager, IDataProtectionProvider provider, TimeProvider time, ILogger logger)
    {
        _keyManager = keyManager;
        _provider = provider;
        _time = time;
        _logger = logger;
        _snapshot = Load();
    }

    public StateEncryptionKey CurrentKey
    {
        get
        {
            var snapshot = _snapshot;
            return _time.GetUtcNow() < snapshot.NextRefresh ? snapshot.Current : Refresh(snapshot).Current;
        }
    }

    public StateEncryptionKey? FindKey(string keyId)
    {
        var snapshot = _snapshot;
        if (snapshot.Keys.TryGetValue(keyId, out var key))
        {
            return key;
        }

        // Another instance may have made a new Data Protection key: look again, at most once every few seconds (a value
        // naming a key nobody has must not make every read reload the key ring).
        var now = _time.GetUtcNow();
        if (!keyId.StartsWith(IdPrefix, StringComparison.Ordinal) || now.UtcTicks < Interlocked.Read(ref _nextMissRefreshTicks))
        {
            return null;
        }

        Interlocked.Exchange(ref _nextMissRefreshTicks, (now + RefreshOnMissAfter).UtcTicks);
        return Refresh(snapshot).Keys.GetValueOrDefault(keyId);
    }

    /// <summary>The StateKit key of one Data Protection key: HKDF-SHA256 of its master key, salted with its id.</summary>
    internal static StateEncryptionKey Derive(Guid keyId, byte[] masterKey)
    {
        var material = HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey, StateEncryptionKey.MaterialBytes, keyId.ToByteArray(), Encoding.ASCII.GetBytes(Purpose));
        try
        {
            return new StateEncryptionKey(IdPrefix + keyId.ToString("D"), material);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    private Snapshot Refresh(Snapshot seen)
    {
        lock (_refreshing)
        {
            if (!ReferenceEquals(_snapshot, seen))
            {
                return _snapshot;
            }

            try
            {
                return _snapshot = Load();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Keep serving the keys known; look again later.
                Log.RefreshFailed(_logger, e);
                return _snapshot = seen with { NextRefresh = _time.GetUtcNow() + RefreshEvery };
            }
        }
    }

    private Snapshot Load()
    {
        var now = _time.GetUtcNow();
        var all = _keyManager.GetAllKeys();
        if (!all.Any(k => Usable(k, now)))
        {
            // Data Protection makes its first key (or the next one) when it is first asked to protect: ask it.
            _provider.CreateProtector(Purpose).Protect([0]);
            all = _keyManager.GetAllKeys();
            now = _time.GetUtcNow(); // the new key is active from the moment it was made
        }

        var keys = new Dictionary<string, StateEncryptionKey>(StringComparer.Ordinal);
        StateEncryptionKey? current = null;
        var currentActivation = DateTimeOffset.MinValue;
        foreach (var dpKey in all)
        {
            byte[]? master = null;
            try
            {
                master = MasterKey(dpKey);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.KeyUnreadable(_logger, dpKey.KeyId, e);
            }

            if (master is null)
            {
                continue;
            }

            var key = Derive(dpKey.KeyId, master);
            CryptographicOperations.ZeroMemory(master);
            keys[key.Id] = key;
            if (Usable(dpKey, now) && dpKey.ActivationDate > currentActivation)
            {
                current = key;
                currentActivation = dpKey.ActivationDate;
            }
        }

        if (current is null)
        {
            throw new InvalidOperationException("ASP.NET Core Data Protection has no active key StateKit can use for encryption at rest (every key is revoked, expired or unreadable).");
        }

        return new Snapshot(keys, current, now + RefreshEvery);
    }

    private static bool Usable(IKey key, DateTimeOffset now) => !key.IsRevoked && key.ActivationDate <= now && key.ExpirationDate > now;

    /// <summary>The master key of a Data Protection key, from its descriptor (as Data Protection itself persists it, before its XML encryptor).</summary>
    private static byte[]? MasterKey(IKey key)
    {
        var element = key.Descriptor.ExportToXml().SerializedDescriptorElement;
        var value = element.Descendants().FirstOrDefault(e => e.Name.LocalName == "masterKey")?.Elements().FirstOrDefault(e => e.Name.LocalName == "value")?.Value;
        return value is null ? null : Convert.FromBase64String(value);
    }

    private sealed record Snapshot(Dictionary<string, StateEncryptionKey> Keys, StateEncryptionKey Current, DateTimeOffset NextRefresh);

    private static partial class Log
    {
        [LoggerMessage(130, LogLevel.Warning, "StateKit could not read Data Protection key {KeyId} for encryption at rest; values encrypted with it cannot be read until it can.")]
        public static partial void KeyUnreadable(ILogger logger, Guid keyId, Exception exception);

        [LoggerMessage(131, LogLevel.Warning, "StateKit could not reload the Data Protection keys for encryption at rest; it keeps the keys it has and tries again later.")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);
    }
}
