using Microsoft.Extensions.Options;
using StateKit;
using StateKit.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <content>The write-behind stage: <c>UseWriteBehind</c>.</content>
public static partial class StateKitBuilderExtensions
{
    /// <summary>
    /// Puts write-behind  in front of the chosen store: writes are acknowledged once
    /// they are in a durable journal under <paramref name="journalDirectory"/> and flushed to the store in the background,
    /// coalesced per key; the journal is replayed after a crash. For keys one instance owns (see the remarks there).
    /// Options are bound from <c>StateKit:WriteBehind</c> (a named store's from <c>StateKit:Stores:{name}:WriteBehind</c>)
    /// when there is configuration, then from <paramref name="journalDirectory"/> and <paramref name="configure"/>, and
    /// validated at start-up, naming the option path.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="journalDirectory">A local directory for the journal, used by this store only.</param>
    /// <param name="configure">Flush interval, pending bound, flush concurrency.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseWriteBehind(this StateKitBuilder builder, string journalDirectory, Action<WriteBehindOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(journalDirectory);
        var name = builder.Name;
        var path = StateKitOptions.SectionPathOf(name) + ":WriteBehind";
        var options = builder.BindOptions<WriteBehindOptions>("WriteBehind", name)
            .Configure(o => o.JournalDirectory = journalDirectory);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.AddSingleton<IValidateOptions<WriteBehindOptions>>(new LayerOptionsValidator<WriteBehindOptions>(name, path));
        options.ValidateOnStart();
        return builder.AddLayer(StateStoreStage.WriteBehind, "write-behind", WriteBehindStateStore.Layer(context => context.Services.GetRequiredService<IOptionsMonitor<WriteBehindOptions>>().Get(name)));
    }
}
