namespace StateKit;

/// <content>The write-behind stage: <c>UseWriteBehind</c>.</content>
public static partial class StateStorePipelineBuilderExtensions
{
    /// <summary>
    /// Puts write-behind at <see cref="StateStoreStage.WriteBehind"/>: writes are acknowledged once they are in a durable
    /// journal under <paramref name="journalDirectory"/> and flushed to the stores below in the background, coalesced per
    /// key; the journal is replayed after a crash. Writes the backend would refuse (its value limit) are refused at the
    /// call, and its default time to live applies. Its state is <see cref="IWriteBehindStatus"/> (<c>GetService</c>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="journalDirectory">A local directory for the journal, used by this store only.</param>
    /// <param name="configure">Flush interval, pending bound, flush concurrency.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">The directory is empty or an option is out of range.</exception>
    public static StateStorePipelineBuilder UseWriteBehind(this StateStorePipelineBuilder builder, string journalDirectory, Action<WriteBehindOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(journalDirectory);
        var options = Options<WriteBehindOptions>(
            o =>
            {
                o.JournalDirectory = journalDirectory;
                configure?.Invoke(o);
            },
            "WriteBehind");
        return builder.Use(StateStoreStage.WriteBehind, "write-behind", WriteBehindStateStore.Layer(_ => options));
    }
}
