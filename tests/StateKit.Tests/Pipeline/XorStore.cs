namespace StateKit.Tests.Pipeline;

/// <summary>A value transform, as an encryption layer would be: every byte XOR 0x5A, on values and list items.</summary>
internal sealed class XorStore(IStateStore inner) : DelegatingStateStore(inner)
{
    public static byte[] Transform(ReadOnlySpan<byte> value)
    {
        var result = value.ToArray();
        for (var i = 0; i < result.Length; i++)
        {
            result[i] ^= 0x5A;
        }

        return result;
    }

    public override async ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        await base.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } e ? new StateEntry(e.Key, Transform(e.Value.Span), e.Version, e.ExpiresAt) : null;

    public override async ValueTask<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default) =>
        (await base.GetManyAsync(keys, cancellationToken).ConfigureAwait(false)).ToDictionary(p => p.Key, p => new StateEntry(p.Value.Key, Transform(p.Value.Value.Span), p.Value.Version, p.Value.ExpiresAt));

    public override ValueTask<long> SetAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions options = default, CancellationToken cancellationToken = default) =>
        base.SetAsync(key, Transform(value.Span), options, cancellationToken);

    public override ValueTask<IReadOnlyList<long>> SetManyAsync(IReadOnlyList<StateWrite> writes, CancellationToken cancellationToken = default) =>
        base.SetManyAsync(writes.Select(w => new StateWrite(w.Key, Transform(w.Value.Span), w.Options)).ToArray(), cancellationToken);

    public override ValueTask<bool> SetAtVersionAsync(string key, ReadOnlyMemory<byte> value, long version, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
        base.SetAtVersionAsync(key, Transform(value.Span), version, expiresAt, cancellationToken);

    public override ValueTask<long> ListAppendAsync(string key, IReadOnlyList<ReadOnlyMemory<byte>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default) =>
        base.ListAppendAsync(key, items.Select(i => (ReadOnlyMemory<byte>)Transform(i.Span)).ToArray(), timeToLive, cancellationToken);

    public override async ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) =>
        (await base.ListRangeAsync(key, start, stop, cancellationToken).ConfigureAwait(false)).Select(i => (ReadOnlyMemory<byte>)Transform(i.Span)).ToArray();
}
