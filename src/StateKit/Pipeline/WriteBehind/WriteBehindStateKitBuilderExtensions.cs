using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StateKit;
using StateKit.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <content>The write-behind stage: <c>UseWriteBehind</c>.</content>
public static partial class StateKitBuilderExtensions
{
    /// <summary>
    /// Puts write-behind (<see cref="WriteBehindStateStore"/>) in front of the chosen store: writes are acknowledged once
    /// they are in a durable journal under <paramref name="journalDirectory"/> and flushed to the store in the background,
    /// coalesced per key; the journal is replayed after a crash. For keys one instance owns (see the remarks there).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="journalDirectory">A local directory for the journal, used by this store only.</param>
    /// <param name="configure">Flush interval, pending bound, flush concurrency.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseWriteBehind(this StateKitBuilder builder, string journalDirectory, Action<WriteBehindOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(journalDirectory);
        var options = new WriteBehindOptions { JournalDirectory = journalDirectory };
        configure?.Invoke(options);
        var problems = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new System.ComponentModel.DataAnnotations.ValidationContext(options), problems, validateAllProperties: true))
        {
            throw new ArgumentException("Write-behind options are not valid: " + string.Join(" ", problems.Select(p => p.ErrorMessage)), nameof(configure));
        }

        var name = builder.Name;
        return builder.AddLayer(StateStoreStage.WriteBehind, "write-behind", (store, services) => new WriteBehindStateStore(
            store,
            options,
            BackendOptions.Of(store) ?? StateStoreSelector.Options(services, name),
            services.GetService<TimeProvider>(),
            services.GetService<Microsoft.Extensions.Logging.ILogger<WriteBehindStateStore>>()));
    }
}
