using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Agents.AI;
using StateKit.Agents.Internal;
using StateKit.Serialization;

namespace StateKit.Agents;

/// <summary>
/// An <see cref="AgentSessionStore"/> on any StateKit store: a session is serialized by its agent and kept under its
/// agent's id and its <see cref="AgentSessionStoreKey"/> (the session id and every partition), with the store's versioning. A session this
/// store read or saved remembers the version it saw: saving it after another instance saved the same key raises
/// <see cref="StateConflictException"/> (or overwrites, as <see cref="StateKitAgentOptions.SessionConflict"/> says), and
/// saving a session this store never read does not replace one that exists.
/// </summary>
/// <remarks>
/// <see cref="AgentSessionStore"/> is experimental in Microsoft Agent Framework (diagnostic MAAI001): its shape may change
/// in a later framework release, and this class with it. Sessions are kept per agent (<see cref="AIAgent.Id"/>; give
/// agents stable ids) unless <see cref="StateKitAgentOptions.SessionsPerAgent"/> is off.
/// </remarks>
public sealed class StateKitAgentSessionStore : AgentSessionStore
{
    private readonly IStateStore _store;
    private readonly StateKitAgentOptions _options;
    private readonly StateValueCodec _codec;
    private readonly JsonSerializerOptions? _jsonOptions;
    private readonly ConditionalWeakTable<AgentSession, StrongBox<long>> _versions = [];

    /// <summary>Initializes a new instance of the <see cref="StateKitAgentSessionStore"/> class.</summary>
    /// <param name="store">The store sessions are kept in.</param>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    /// <param name="envelope">The envelope settings (compression); StateKit's defaults when <see langword="null"/>.</param>
    /// <param name="jsonOptions">The options the agent serializes sessions with; the agent's defaults when <see langword="null"/>.</param>
    public StateKitAgentSessionStore(IStateStore store, StateKitAgentOptions? options = null, StateEnvelopeOptions? envelope = null, JsonSerializerOptions? jsonOptions = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _options = options ?? new StateKitAgentOptions();
        _codec = AgentCodec.Create(envelope);
        _jsonOptions = jsonOptions;
    }

    /// <inheritdoc />
    /// <exception cref="StateConflictException">Another instance saved this key since this session was read (with <see cref="AgentSessionConflict.Throw"/>).</exception>
    public override async ValueTask SaveSessionAsync(AIAgent agent, AgentSessionStoreKey key, AgentSession session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(session);
        var state = await agent.SerializeSessionAsync(session, _jsonOptions, cancellationToken).ConfigureAwait(false);
        long? expected = _options.SessionConflict == AgentSessionConflict.Overwrite
            ? null
            : _versions.TryGetValue(session, out var seen) ? seen.Value : 0;
        var version = await _store.SetAsync(StoreKey(agent, key), _codec.Encode(state), new StateWriteOptions(expected, _options.SessionTimeToLive), cancellationToken).ConfigureAwait(false);
        _versions.AddOrUpdate(session, new StrongBox<long>(version));
    }

    /// <inheritdoc />
    public override async ValueTask<AgentSession?> GetSessionAsync(AIAgent agent, AgentSessionStoreKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(key);
        var storeKey = StoreKey(agent, key);
        var entry = await _store.GetAsync(storeKey, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return null;
        }

        var state = _codec.Decode<JsonElement>(entry.Value.Span, storeKey);
        var session = await agent.DeserializeSessionAsync(state, _jsonOptions, cancellationToken).ConfigureAwait(false);
        _versions.AddOrUpdate(session, new StrongBox<long>(entry.Version));
        return session;
    }

    /// <inheritdoc />
    public override async ValueTask DeleteSessionAsync(AIAgent agent, AgentSessionStoreKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(key);
        await _store.DeleteAsync(StoreKey(agent, key), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private string StoreKey(AIAgent agent, AgentSessionStoreKey key) =>
        AgentKeys.Session(_options.SessionsPerAgent ? agent.Id : null, key.SessionId, key.Partitions ?? new Dictionary<string, string>());
}
