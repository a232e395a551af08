namespace StateKit;

/// <summary>
/// A fixed key ring: the current key and the retired keys older values may still be encrypted with. Rotate by making a
/// new key current and keeping the old one as retired until <see cref="IStateEncryptionStatus.RewrapAsync"/> has moved
/// every value to the new key. From configuration: <c>StateKit:Encryption:CurrentKeyId</c> and
/// <c>StateKit:Encryption:Keys:{id}</c> (base64 of 32 random bytes, e.g. <c>openssl rand -base64 32</c>).
/// </summary>
public sealed class StateEncryptionKeyRing : IStateEncryptionKeyRing
{
    private readonly Dictionary<string, StateEncryptionKey> _keys = new(StringComparer.Ordinal);

    /// <summary>Initializes a new instance of the <see cref="StateEncryptionKeyRing"/> class.</summary>
    /// <param name="currentKey">The key new writes use.</param>
    /// <param name="retiredKeys">Keys older values may still be encrypted with.</param>
    /// <exception cref="ArgumentException">Two different keys have one id.</exception>
    public StateEncryptionKeyRing(StateEncryptionKey currentKey, IEnumerable<StateEncryptionKey>? retiredKeys = null)
    {
        ArgumentNullException.ThrowIfNull(currentKey);
        CurrentKey = currentKey;
        foreach (var key in (retiredKeys ?? []).Prepend(currentKey))
        {
            ArgumentNullException.ThrowIfNull(key, nameof(retiredKeys));
            if (_keys.TryGetValue(key.Id, out var known) && known.Fingerprint != key.Fingerprint)
            {
                throw new ArgumentException($"Two different encryption keys have the id '{key.Id}'; a key id must name one key.", nameof(retiredKeys));
            }

            _keys[key.Id] = key;
        }
    }

    /// <inheritdoc />
    public StateEncryptionKey CurrentKey { get; }

    /// <summary>Gets the ids of every key of the ring.</summary>
    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    /// <inheritdoc />
    public StateEncryptionKey? FindKey(string keyId) => _keys.GetValueOrDefault(keyId);

    /// <summary>Builds the ring <paramref name="options"/> describe (<see cref="StateEncryptionOptions.Keys"/>, <see cref="StateEncryptionOptions.CurrentKeyId"/>).</summary>
    /// <param name="options">The options.</param>
    /// <param name="path">The configuration path, for messages.</param>
    /// <returns>The ring.</returns>
    /// <exception cref="ArgumentException">A key is not base64 of 32 bytes, an id is invalid, or the current key is missing (never showing key material).</exception>
    internal static StateEncryptionKeyRing FromOptions(StateEncryptionOptions options, string path)
    {
        var problems = Problems(options, path);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        var keys = options.Keys.Select(p => new StateEncryptionKey(p.Key, Convert.FromBase64String(p.Value))).ToList();
        return new StateEncryptionKeyRing(keys.Single(k => k.Id == options.CurrentKeyId), keys.Where(k => k.Id != options.CurrentKeyId));
    }

    /// <summary>What is wrong with the keys of <paramref name="options"/>, each naming its option path and never the key material.</summary>
    internal static List<string> Problems(StateEncryptionOptions options, string path)
    {
        var problems = new List<string>();
        foreach (var (id, value) in options.Keys)
        {
            if (!StateEncryptionKey.IsValidId(id))
            {
                problems.Add($"{path}:Keys: '{id}' is not a valid key id (1 to {StateEncryptionKey.MaxIdLength} characters of A-Z, a-z, 0-9, '.', '_', '-').");
            }

            var material = new byte[StateEncryptionKey.MaterialBytes + 1];
            if (!Convert.TryFromBase64String(value ?? string.Empty, material, out var length) || length != StateEncryptionKey.MaterialBytes)
            {
                problems.Add($"{path}:Keys:{id}: the key is not base64 of exactly {StateEncryptionKey.MaterialBytes} bytes (make one with 'openssl rand -base64 32').");
            }
        }

        if (string.IsNullOrEmpty(options.CurrentKeyId))
        {
            problems.Add($"{path}:CurrentKeyId: required: the id of the key new writes use, one of {path}:Keys.");
        }
        else if (!options.Keys.ContainsKey(options.CurrentKeyId))
        {
            problems.Add($"{path}:CurrentKeyId: '{options.CurrentKeyId}' is not one of {path}:Keys.");
        }

        return problems;
    }
}
