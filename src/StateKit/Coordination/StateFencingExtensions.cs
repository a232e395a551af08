using System.Buffers.Binary;

namespace StateKit;

/// <summary>
/// Writes fenced by a lease's token (<see cref="StateLease.FencingToken"/>): the key keeps the largest token it was
/// written with, and a write with a smaller one (from a holder whose lease expired and was granted again) is refused.
/// The value is stored behind a 10-byte header; read it with <see cref="GetFencedAsync"/>.
/// </summary>
public static class StateFencingExtensions
{
    private const byte Marker = 0x46; // 'F'
    private const byte FormatVersion = 1;
    private const int HeaderBytes = 10;

    /// <summary>
    /// Writes <paramref name="value"/> to <paramref name="key"/> if no write with a larger fencing token came before it:
    /// a conditional write at the version read, tried again on a conflict.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="fencingToken">The writer's lease token.</param>
    /// <param name="timeToLive">The time to live of the value, as <see cref="StateWriteOptions.TimeToLive"/>.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The new version of the key.</returns>
    /// <exception cref="StateFencedException">The key was written with a larger token: the writer's lease is gone. Nothing was written.</exception>
    public static async ValueTask<long> SetFencedAsync(this IStateStore store, string key, ReadOnlyMemory<byte> value, long fencingToken, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(fencingToken, 1);
        var stored = new byte[HeaderBytes + value.Length];
        stored[0] = Marker;
        stored[1] = FormatVersion;
        BinaryPrimitives.WriteInt64LittleEndian(stored.AsSpan(2), fencingToken);
        value.Span.CopyTo(stored.AsSpan(HeaderBytes));
        while (true)
        {
            var entry = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (entry is not null && TokenOf(store, entry) is var current && current > fencingToken)
            {
                throw new StateFencedException(store.Name, key, fencingToken, current);
            }

            try
            {
                return await store.SetAsync(key, stored, new StateWriteOptions(entry?.Version ?? 0, timeToLive), cancellationToken).ConfigureAwait(false);
            }
            catch (StateConflictException)
            {
                // Written meanwhile: check its token again.
            }
        }
    }

    /// <summary>Reads a value written with <see cref="SetFencedAsync"/>, and the token it was written with.</summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The value, the fencing token it was written with and the entry's version; <see langword="null"/> when there is none.</returns>
    /// <exception cref="StateCorruptedException">The key holds a value not written with <see cref="SetFencedAsync"/>.</exception>
    public static async ValueTask<StateFencedValue?> GetFencedAsync(this IStateStore store, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var entry = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return entry is null ? null : new StateFencedValue(entry.Value[HeaderBytes..], TokenOf(store, entry), entry.Version);
    }

    private static long TokenOf(IStateStore store, StateEntry entry)
    {
        var bytes = entry.Value.Span;
        return bytes.Length >= HeaderBytes && bytes[0] == Marker && bytes[1] == FormatVersion
            ? BinaryPrimitives.ReadInt64LittleEndian(bytes[2..])
            : throw new StateCorruptedException(store.Name, "fenced read", entry.Key, "the value was not written with SetFencedAsync");
    }
}

/// <summary>A value written with <see cref="StateFencingExtensions.SetFencedAsync"/>.</summary>
/// <param name="Value">The value.</param>
/// <param name="FencingToken">The token it was written with.</param>
/// <param name="Version">The entry's version.</param>
public sealed record StateFencedValue(ReadOnlyMemory<byte> Value, long FencingToken, long Version);
