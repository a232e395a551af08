using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StateKit;
using StateKit.Internal;
using StateKit.Serialization;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers session managers on a <see cref="StateKitBuilder"/>.</summary>
public static class SessionStateKitBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="ISessionManager{TSession}"/> on the configured store, with a hosted service that cleans up
    /// expired sessions every <see cref="SessionOptions.CleanupInterval"/>.
    /// </summary>
    /// <remarks>
    /// The options are bound from configuration when there is some: <c>StateKit:Sessions</c> for every session type
    /// (all but <see cref="SessionOptions.Name"/>), then <c>StateKit:Sessions:{TypeName}</c> (the type's short name, for
    /// example <c>StateKit:Sessions:ChatSession:IdleTimeout</c>), then <paramref name="configure"/>; they are validated at
    /// start-up. With tier routing (<c>RouteTier(StateTier.Session, …)</c>) the sessions live on the session tier's store.
    /// </remarks>
    /// <typeparam name="TSession">The session state type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Timeouts, isolation, limits.</param>
    /// <param name="defaultState">Creates the state of a new session; the parameterless constructor when <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder AddSessions<TSession>(this StateKitBuilder builder, Action<SessionOptions>? configure = null, Func<TSession>? defaultState = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var name = typeof(TSession).FullName ?? typeof(TSession).Name;
        var marker = StateKitServiceCollectionExtensions.Marker(builder.Services);
        var options = builder.Services.AddOptions<SessionOptions>(name).Configure<IServiceProvider>((o, sp) =>
        {
            // StateKit:Sessions applies to every session type (but never names it); StateKit:Sessions:{TypeName} to this one.
            var ownName = o.Name;
            marker.Section(sp, string.Empty, "Sessions")?.Bind(o);
            o.Name = ownName;
            marker.Section(sp, string.Empty, "Sessions:" + typeof(TSession).Name)?.Bind(o);
        }).ValidateDataAnnotations().Validate(
            o => o.IdleTimeout > TimeSpan.Zero && (o.AbsoluteTimeout is null || o.AbsoluteTimeout > TimeSpan.Zero) && o.CleanupInterval > TimeSpan.Zero,
            "Session timeouts and the cleanup interval must be positive.").ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton(sp => new SessionOptionsFor<TSession>(sp.GetRequiredService<IOptionsMonitor<SessionOptions>>().Get(name)));
        builder.Services.TryAddSingleton<SessionNames>();
        builder.Services.TryAddSingleton<ISessionManager<TSession>>(sp =>
        {
            var sessionOptions = sp.GetRequiredService<SessionOptionsFor<TSession>>().Value;
            sp.GetRequiredService<SessionNames>().Claim(sessionOptions.Name ?? SessionManagerBase<TSession>.DefaultName(typeof(TSession)), typeof(TSession));
            var manager = SessionManager<TSession>.Create(
                sp.GetRequiredService<IStateStore>(),
                sp.GetRequiredService<StateValueCodec>(),
                sp.GetRequiredService<IStateProvider>(),
                sessionOptions,
                sp.GetRequiredService<TimeProvider>(),
                defaultState,
                sp.GetService<ILogger<ISessionManager<TSession>>>());
            sp.GetRequiredService<StateKitMetrics>().TrackSessions(manager.Name, manager.GetStats);
            return manager;
        });
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SessionCleanupService<TSession>>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IStateCheckpointParticipant, SessionCheckpointParticipant<TSession>>());
        return builder;
    }
}
